"""Write resources/concepts.json: the everyday concept vocabulary behind `#dog` searches and the
concept tags of a photo.

Each category has a word list (written here by hand) and a few prompt templates that read
naturally for that kind of word; a concept's prompts are its word in every template of its
category. A word ending in "~" takes no article ("jeans", "rice"); "{a}" in a template becomes
"a" or "an". Run `python tools/make_concepts.py` after editing; the file is checked in.
"""

from __future__ import annotations

import json
from pathlib import Path

OBJECT = ["a photo of {a} {}", "a close-up photo of {a} {}", "a photo of the {}", "a picture of {a} {}"]

CATEGORIES: dict[str, tuple[list[str], str]] = {
    "animals": (
        ["a photo of {a} {}", "a close-up photo of {a} {}", "a photo of the {}, an animal", "a picture of {a} {}"],
        """
        dog puppy cat kitten horse pony donkey cow calf bull pig sheep lamb goat chicken rooster chick
        duck duckling goose swan turkey rabbit hamster guinea-pig mouse rat squirrel chipmunk hedgehog
        fox wolf bear polar-bear panda koala kangaroo deer moose reindeer elk bison buffalo camel llama
        alpaca giraffe zebra elephant rhinoceros hippopotamus lion tiger leopard cheetah jaguar lynx
        monkey gorilla chimpanzee orangutan lemur sloth bat raccoon otter beaver badger skunk seal
        sea-lion walrus dolphin whale shark fish goldfish clownfish salmon trout jellyfish octopus squid
        crab lobster shrimp starfish seahorse turtle tortoise frog toad lizard gecko iguana chameleon
        snake crocodile alligator dinosaur bird parrot pigeon dove crow raven seagull pelican flamingo
        penguin owl eagle hawk falcon vulture heron stork peacock ostrich hummingbird robin sparrow
        woodpecker kingfisher butterfly moth bee wasp ant ladybug dragonfly grasshopper spider
        beetle snail caterpillar worm scorpion mosquito fly
    """,
    ),
    "plants and nature": (
        OBJECT,
        """
        tree palm-tree pine-tree oak-tree christmas-tree flower rose tulip sunflower daisy lily orchid
        lavender~ dandelion cactus succulent fern moss~ grass~ leaf autumn-leaves~ bush hedge
        mushroom vine bamboo~ seaweed~ cherry-blossom~ bouquet potted-plant houseplant garden-bed
        log tree-stump rock pebbles~ sand~ shell pinecone acorn wheat-field~ hay-bale
    """,
    ),
    "food": (
        ["a photo of {}, a type of food", "a plate of {}", "a close-up photo of {}", "a photo of {} on a table"],
        """
        pizza burger hamburger hot-dog sandwich toast bread baguette croissant bagel pretzel pancakes
        waffles cereal porridge eggs fried-egg omelette bacon sausage steak roast-chicken chicken-wings
        ham meatballs kebab tacos burrito nachos quesadilla sushi sashimi ramen noodles dumplings
        spring-rolls fried-rice rice curry pasta spaghetti lasagna ravioli risotto paella soup stew
        salad caesar-salad french-fries mashed-potatoes baked-potato vegetables carrots broccoli
        tomatoes cucumber lettuce corn peas beans onions garlic peppers chili-peppers potatoes
        pumpkin eggplant zucchini avocado mushrooms olives cheese cheese-board yogurt butter
        fruit apple banana orange lemon lime grapes strawberries blueberries raspberries cherries
        watermelon melon pineapple mango peach pear plum kiwi coconut figs pomegranate nuts
        chocolate candy cookies cake birthday-cake cupcakes muffins donuts pie ice-cream popsicle
        pudding cheesecake macarons brownies chips popcorn honey jam barbecue picnic-food fish-and-chips
        seafood oysters shrimp-dish tofu falafel hummus dim-sum pho bento-box breakfast lunch dinner
        dessert snacks street-food
    """,
    ),
    "drinks": (
        ["a photo of {}, a drink", "a close-up photo of {}", "a photo of {} on a table"],
        """
        coffee~ latte~ cappuccino~ espresso~ tea~ green-tea~ milk~ juice~ orange-juice~ lemonade~
        smoothie~ milkshake~ water~ soda~ cola~ beer~ wine~ red-wine~ white-wine~ champagne~
        cocktail~ whiskey~ hot-chocolate~ bubble-tea~ sake~
    """,
    ),
    "vehicles": (
        ["a photo of {a} {}", "a picture of {a} {}", "a close-up photo of {a} {}", "a photo of the {}, a vehicle"],
        """
        car sports-car vintage-car convertible suv pickup-truck van minivan truck lorry fire-truck
        ambulance police-car taxi bus school-bus double-decker-bus tram train steam-train subway
        motorcycle scooter moped bicycle tricycle skateboard electric-scooter tractor bulldozer
        excavator construction-crane forklift airplane jet helicopter hot-air-balloon glider drone
        rocket boat sailboat yacht canoe kayak rowing-boat ferry cruise-ship ship fishing-boat
        submarine gondola jet-ski cable-car horse-carriage
    """,
    ),
    "household objects": (
        OBJECT,
        """
        chair armchair sofa bed bunk-bed crib table dining-table desk bench stool shelf bookshelf
        wardrobe dresser cabinet drawer mirror lamp chandelier candle fireplace rug carpet curtain
        pillow cushion blanket towel clock wall-clock vase picture-frame painting-on-a-wall
        plant-pot basket box cardboard-box suitcase backpack handbag wallet umbrella key keychain
        door window staircase balcony fence gate mailbox doorbell radiator fan air-conditioner
        bathtub shower toilet sink faucet toothbrush soap hairbrush comb razor hair-dryer
        washing-machine dishwasher refrigerator oven microwave stove toaster kettle coffee-maker
        blender frying-pan cooking-pot plate bowl cup mug glass wine-glass bottle water-bottle jar
        teapot fork knife spoon chopsticks cutting-board tray napkin tablecloth trash-can broom
        vacuum-cleaner iron ironing-board laundry-basket clothes-hanger bucket sponge candle-holder
        alarm-clock calendar-on-a-wall book books~ newspaper magazine notebook pen pencil crayons~
        scissors~ tape glue envelope stamp globe trophy medal flag balloon balloons~ gift-box
        wrapping-paper~ ribbon toy teddy-bear doll puzzle board-game deck-of-cards dice lego~
        rubber-duck kite yo-yo
    """,
    ),
    "electronics": (
        OBJECT,
        """
        smartphone mobile-phone laptop computer desktop-computer keyboard computer-mouse monitor
        television remote-control tablet e-reader smartwatch headphones~ earbuds~ speaker
        microphone camera film-camera camera-lens tripod video-camera game-console game-controller
        printer router charger power-bank cable usb-stick hard-drive calculator radio
        record-player vinyl-record cassette-tape light-bulb flashlight solar-panel robot
        circuit-board vr-headset
    """,
    ),
    "clothing and accessories": (
        OBJECT,
        """
        t-shirt shirt blouse sweater hoodie jacket leather-jacket coat raincoat suit tuxedo dress
        wedding-dress skirt jeans~ trousers~ shorts~ leggings~ pajamas~ swimsuit bikini uniform
        apron scarf gloves~ mittens~ hat cap beanie sun-hat cowboy-hat helmet sunglasses~
        glasses~ watch necklace bracelet ring earrings~ tie bow-tie belt socks~ shoes~ sneakers~
        boots~ high-heels~ sandals~ flip-flops~ slippers~ costume mask crown tiara wig
        backpack-on-a-person purse
    """,
    ),
    "tools": (
        OBJECT,
        """
        hammer screwdriver wrench pliers~ drill saw chainsaw axe shovel rake wheelbarrow
        lawn-mower ladder toolbox tape-measure paintbrush paint-roller paint-can nails~ screws~
        rope chain padlock sewing-machine needle-and-thread~ knitting~ watering-can garden-hose
        workbench anvil
    """,
    ),
    "musical instruments": (
        OBJECT,
        """
        guitar electric-guitar acoustic-guitar bass-guitar piano keyboard-instrument violin cello
        double-bass harp drum drum-kit trumpet trombone saxophone clarinet flute accordion
        harmonica ukulele banjo xylophone tambourine
    """,
    ),
    "sports equipment": (
        OBJECT,
        """
        football soccer-ball basketball baseball tennis-ball golf-ball volleyball rugby-ball
        tennis-racket badminton-racket baseball-bat golf-club hockey-stick ice-skates~
        roller-skates~ skis~ snowboard surfboard paddleboard fishing-rod dumbbell barbell
        yoga-mat bowling-ball boxing-gloves~ frisbee climbing-rope trampoline sled
    """,
    ),
    "activities": (
        ["a photo of people {}", "a photo of a person {}", "someone {}", "a picture of {}"],
        """
        swimming diving snorkeling surfing sailing kayaking fishing hiking climbing rock-climbing
        camping running jogging cycling mountain-biking skiing snowboarding ice-skating
        skateboarding horse-riding dancing singing playing-guitar playing-piano playing-football
        playing-soccer playing-basketball playing-tennis playing-golf playing-volleyball
        playing-baseball playing-cards playing-chess playing-video-games playing-in-the-snow
        building-a-snowman sledding sunbathing reading writing drawing-a-picture painting-a-picture cooking baking
        eating drinking having-a-picnic having-a-barbecue gardening shopping working-on-a-laptop
        studying teaching sleeping relaxing doing-yoga lifting-weights boxing martial-arts
        meditating walking-the-dog feeding-animals taking-a-selfie taking-a-photo hugging
        kissing laughing smiling crying waving jumping sitting-on-a-bench driving a-road-trip
        flying-a-kite playing-on-a-swing blowing-out-candles opening-presents giving-a-speech
        queueing commuting cleaning washing-dishes doing-laundry
    """,
    ),
    "events": (
        ["a photo of {a} {}", "a photo taken at {a} {}", "people at {a} {}"],
        """
        wedding wedding-ceremony wedding-reception birthday-party party children's-party
        graduation concert music-festival festival parade carnival fair fireworks-show
        christmas-celebration christmas-dinner new-year's-eve-party halloween-party easter-celebration
        thanksgiving-dinner diwali-celebration chinese-new-year hanukkah-celebration baby-shower
        funeral religious-ceremony baptism conference business-meeting lecture protest march
        sports-match football-match marathon race competition award-ceremony exhibition
        theatre-performance school-play family-reunion dinner-party barbecue-party picnic
    """,
    ),
    "indoor places": (
        ["a photo of {a} {}", "a photo taken in {a} {}", "the inside of {a} {}"],
        """
        living-room bedroom kitchen bathroom dining-room home-office office classroom library
        lecture-hall hospital-room doctor's-office dentist laboratory factory warehouse garage
        basement attic hallway staircase-indoors restaurant cafe bar pub nightclub hotel-room
        hotel-lobby shop supermarket shopping-mall bakery-shop bookstore clothing-store market-hall
        gym swimming-pool-indoors museum art-gallery church-interior mosque-interior temple-interior
        cinema theatre concert-hall airport-terminal train-station subway-station bus-station
        waiting-room elevator prison server-room recording-studio stage
    """,
    ),
    "outdoor scenes": (
        ["a photo of {a} {}", "a photo taken at {a} {}", "a landscape photo of {a} {}"],
        """
        beach sandy-beach rocky-coast cliff ocean sea waves~ lake river stream waterfall pond
        island bay harbour marina pier lighthouse mountain mountains~ mountain-peak valley canyon
        hill hills~ volcano glacier iceberg desert sand-dunes~ forest rainforest jungle woods~
        meadow field flower-field farm vineyard orchard rice-field countryside prairie savanna
        swamp cave park garden playground zoo campsite trail mountain-road road highway
        country-road bridge tunnel railway parking-lot city-street alley crosswalk city-square
        skyline cityscape village town suburb backyard front-yard rooftop construction-site
        ski-slope ice-rink snowy-landscape frozen-lake hot-spring coral-reef underwater-scene
        sports-field football-pitch tennis-court basketball-court golf-course stadium racetrack
        swimming-pool amusement-park ferris-wheel roller-coaster market street-market
        gas-station graveyard ruins~
    """,
    ),
    "buildings and landmarks": (
        ["a photo of {a} {}", "a picture of {a} {}", "the outside of {a} {}"],
        """
        house apartment-building skyscraper office-building cottage cabin farmhouse barn mansion
        castle palace tower church cathedral mosque temple pagoda synagogue monastery chapel
        school university hospital factory-building windmill wind-turbine lighthouse-tower
        dam fountain statue monument memorial arch pyramid bridge-landmark eiffel-tower
        colosseum big-ben statue-of-liberty taj-mahal great-wall-of-china tent igloo treehouse
        greenhouse shed hut hotel-building stadium-building train-station-building
        shop-front storefront neon-sign street-sign traffic-light street-lamp billboard
        graffiti-wall
    """,
    ),
    "weather": (
        ["a photo taken in {} weather", "{a} {} day", "a photo of {} weather"],
        """
        sunny rainy cloudy foggy misty snowy stormy windy overcast hazy frosty icy
    """,
    ),
    "sky and light": (
        ["a photo of {a} {}", "a picture of the {}", "a photo with {a} {}"],
        """
        sunset sunrise blue-sky clouds~ storm-clouds~ rainbow lightning night-sky starry-sky~
        milky-way~ full-moon moon sun aurora~ fireworks~ city-lights~ golden-hour~ twilight~
        snowfall~ rain~ fog~ shadow~ sunbeams~ eclipse
    """,
    ),
    "documents and screens": (
        ["a photo of {a} {}", "a scan of {a} {}", "a photo of {a} {} with text"],
        """
        receipt invoice bill passport id-card driver's-license boarding-pass ticket train-ticket
        concert-ticket menu business-card letter postcard greeting-card wedding-invitation
        handwritten-note sticky-note shopping-list recipe book-page document printed-document form
        contract certificate diploma bank-statement payslip prescription medical-report
        whiteboard blackboard screenshot computer-screen phone-screen map chart graph diagram
        spreadsheet calendar-page timetable poster flyer sign label barcode qr-code banknote
        coins~ credit-card
    """,
    ),
    "people": (
        ["a photo of {a} {}", "a portrait of {a} {}", "a picture of {a} {}"],
        """
        person man woman baby toddler child boy girl teenager young-man young-woman old-man
        old-woman elderly-couple couple family group-of-friends crowd team selfie group-selfie
        portrait close-up-face smiling-person bride groom bridesmaid newborn twins mother-and-child
        father-and-child grandparents students soldier police-officer firefighter doctor nurse
        chef waiter farmer construction-worker businessman athlete musician dancer
        clown santa-claus
    """,
    ),
    "photo styles": (
        ["{a} {}", "a photo that is {a} {}", "an example of {a} {}"],
        """
        black-and-white-photo sepia-photo old-photograph polaroid blurry-photo dark-photo
        overexposed-photo long-exposure-photo aerial-photo drone-photo macro-photo panorama
        silhouette reflection bokeh-photo night-photo hdr-photo double-exposure tilt-shift-photo
        film-photo infrared-photo drawing painting watercolor-painting oil-painting sketch cartoon
        comic anime-drawing illustration graffiti mural sculpture mosaic tattoo stained-glass
        collage meme logo pattern texture
    """,
    ),
    "shapes": (
        ["a photo of {a} {}", "{a} {}", "a picture of {a} {}", "{a} {} shape"],
        """
        circle square triangle rectangle star heart oval diamond hexagon pentagon spiral cross
        arrow crescent ring-shape cube sphere cone cylinder pyramid-shape
    """,
    ),
    "colours": (
        ["something {}", "a photo of something {}", "{a} {} thing", "a mostly {} picture"],
        """
        red green blue yellow orange-colour purple pink brown black white grey gold silver
        turquoise beige colourful
    """,
    ),
}

# A few names read better with a different word in the prompts.
PROMPT_WORD = {
    "orange-colour": "orange",
    "ring-shape": "ring",
    "pyramid-shape": "pyramid",
    "bridge-landmark": "bridge",
    "lighthouse-tower": "lighthouse",
    "keyboard-instrument": "electronic keyboard",
    "painting-on-a-wall": "painting on a wall",
    "staircase-indoors": "staircase",
    "swimming-pool-indoors": "indoor swimming pool",
    "backpack-on-a-person": "person wearing a backpack",
    "shrimp-dish": "shrimp",
    "a-road-trip": "on a road trip",
}


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" and not word.lower().startswith(("uni", "eu", "one")) else "a"


def _prompts(word: str, templates: list[str], mass: bool) -> list[str]:
    out = []
    for t in templates:
        article = "" if mass else _article(word)
        text = t.replace("{a}", article).replace("{}", word)
        out.append(" ".join(text.split()))
    return list(dict.fromkeys(out))


def build() -> dict:
    concepts = []
    seen: set[str] = set()
    for category, (templates, words) in CATEGORIES.items():
        for token in words.split():
            mass = token.endswith("~")
            token = token.rstrip("~")
            name = token.replace("-", " ").replace("_", " ")
            if name in seen:
                raise SystemExit(f"duplicate concept: {name}")
            seen.add(name)
            word = PROMPT_WORD.get(token, name)
            concepts.append({"name": name, "category": category, "prompts": _prompts(word, templates, mass)})
    return {
        "version": 1,
        "about": "Everyday concepts for #concept search; generated by tools/make_concepts.py. "
        "A photo's score for a concept is its best cosine over the prompts, calibrated by a "
        "softmax against the whole vocabulary (see app/core/search/concepts.py).",
        "concepts": concepts,
    }


def main() -> None:
    target = Path(__file__).resolve().parents[1] / "resources" / "concepts.json"
    data = build()
    target.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    cats: dict[str, int] = {}
    for c in data["concepts"]:
        cats[c["category"]] = cats.get(c["category"], 0) + 1
    print(f"{len(data['concepts'])} concepts, {sum(len(c['prompts']) for c in data['concepts'])} prompts -> {target}")
    for cat, n in cats.items():
        print(f"  {n:4d} {cat}")


if __name__ == "__main__":
    main()
