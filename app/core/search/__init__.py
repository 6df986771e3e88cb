"""Queries: parsing, query vectors, ranking and where good matches end, concepts and their prompts."""
