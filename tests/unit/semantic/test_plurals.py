"""Plurals over a broad list of the nouns apps name: each as English spells it, and read
back as the noun (GET /nouns shows a noun's plural; strict mode's suggestions count it as
the noun). A singular, those ending in -s too, stays as it is."""

from __future__ import annotations

import pytest

from dotdo import pluralize, singularize

# fmt: off
NOUNS = """
User:Users Account:Accounts Customer:Customers Order:Orders Product:Products Invoice:Invoices
Payment:Payments Plan:Plans Team:Teams Role:Roles Project:Projects Task:Tasks Ticket:Tickets
Comment:Comments Message:Messages Event:Events Session:Sessions Token:Tokens Key:Keys
Setting:Settings Profile:Profiles Address:Addresses Company:Companies Category:Categories
Tag:Tags Post:Posts Article:Articles Page:Pages Document:Documents File:Files Folder:Folders
Image:Images Photo:Photos Video:Videos Song:Songs Album:Albums Review:Reviews Vote:Votes
Survey:Surveys Question:Questions Quiz:Quizzes Course:Courses Lesson:Lessons Class:Classes
Booking:Bookings Appointment:Appointments Room:Rooms Trip:Trips Route:Routes Vehicle:Vehicles
Bus:Buses Taxi:Taxis Driver:Drivers Delivery:Deliveries Shipment:Shipments Package:Packages
Warehouse:Warehouses Inventory:Inventories Item:Items LineItem:LineItems Cart:Carts
Coupon:Coupons Refund:Refunds Transaction:Transactions Wallet:Wallets Budget:Budgets
Expense:Expenses Report:Reports Metric:Metrics Chart:Charts Axis:Axes Widget:Widgets
Alert:Alerts Incident:Incidents Status:Statuses OrderStatus:OrderStatuses Issue:Issues
Release:Releases Deployment:Deployments Server:Servers Database:Databases Cache:Caches
Queue:Queues Job:Jobs Batch:Batches Process:Processes Log:Logs Alias:Aliases Bias:Biases
Canvas:Canvases Atlas:Atlases Gas:Gases Lens:Lenses Campus:Campuses Virus:Viruses
Bonus:Bonuses Census:Censuses Corpus:Corpuses Focus:Focuses Syllabus:Syllabuses
Surplus:Surpluses Radius:Radiuses Genius:Geniuses Prospectus:Prospectuses Circus:Circuses
Chorus:Choruses Octopus:Octopuses Walrus:Walruses Apparatus:Apparatuses Thesaurus:Thesauruses
EventBus:EventBuses Crisis:Crises Thesis:Theses Diagnosis:Diagnoses Hypothesis:Hypotheses
Analysis:Analyses Synopsis:Synopses Oasis:Oases Emphasis:Emphases Prognosis:Prognoses
Parenthesis:Parentheses Synthesis:Syntheses Paralysis:Paralyses Neurosis:Neuroses
Iris:Irises House:Houses Cause:Causes Clause:Clauses Spouse:Spouses Use:Uses Abuse:Abuses
Excuse:Excuses Fuse:Fuses Case:Cases Phase:Phases Purchase:Purchases Lease:Leases
Phrase:Phrases Response:Responses License:Licenses Nurse:Nurses Horse:Horses Purpose:Purposes
Dose:Doses Rose:Roses Promise:Promises Exercise:Exercises Enterprise:Enterprises
Premise:Premises Franchise:Franchises Noise:Noises Eclipse:Eclipses Lapse:Lapses
Pulse:Pulses Sense:Senses Verse:Verses Universe:Universes Cheese:Cheeses Masseuse:Masseuses
Menu:Menus Guru:Gurus Haiku:Haikus Emu:Emus Bureau:Bureaus Plateau:Plateaus Bayou:Bayous
Area:Areas Idea:Ideas Schema:Schemas Formula:Formulas Persona:Personas Quota:Quotas
Replica:Replicas Agenda:Agendas Visa:Visas Ski:Skis Wiki:Wikis Emoji:Emojis Kiwi:Kiwis
Api:Apis Kpi:Kpis Cpu:Cpus Gpu:Gpus SKU:SKUs API:APIs URL:URLs ID:IDs CustomerID:CustomerIDs
OrderSKU:OrderSKUs CPU:CPUs IDE:IDEs OS:OSes GPS:GPSes SMS:SMSes Mp3:Mp3s
Movie:Movies Zombie:Zombies Cookie:Cookies Pie:Pies Tie:Ties Lie:Lies Calorie:Calories
Brownie:Brownies Hippie:Hippies Selfie:Selfies Lingerie:Lingeries Rookie:Rookies
Hoodie:Hoodies Smoothie:Smoothies Genie:Genies Prairie:Prairies Necktie:Neckties
AuthCookie:AuthCookies Stomach:Stomachs Epoch:Epochs Monarch:Monarchs Patriarch:Patriarchs
Matriarch:Matriarchs Oligarch:Oligarchs Tech:Techs Eunuch:Eunuchs Testis:Testes
Moose:Moose Aircraft:Aircraft Spacecraft:Spacecraft Offspring:Offspring Arch:Arches
March:Marches Starch:Starches Church:Churches
Person:People SalesPerson:SalesPeople Man:Men Woman:Women Child:Children Mouse:Mice
Goose:Geese Tooth:Teeth Foot:Feet Ox:Oxen Criterion:Criteria Index:Indices
Matrix:Matrices Vertex:Vertices Leaf:Leaves Knife:Knives Life:Lives Wife:Wives Wolf:Wolves
Shelf:Shelves Half:Halves Hero:Heroes Potato:Potatoes Tomato:Tomatoes Echo:Echoes
Veto:Vetoes Zoo:Zoos Radio:Radios Studio:Studios Memo:Memos Todo:Todos Repo:Repos Logo:Logos
Demo:Demos Box:Boxes Tax:Taxes Fax:Faxes Match:Matches Watch:Watches Dish:Dishes Wish:Wishes
Brush:Brushes Buzz:Buzzes Day:Days Toy:Toys Story:Stories City:Cities Policy:Policies
Reply:Replies Entry:Entries Query:Queries Glass:Glasses Boss:Bosses Business:Businesses
Pass:Passes Series:Series Species:Species Sheep:Sheep Fish:Fish Deer:Deer News:News
Information:Information Equipment:Equipment Money:Money Headache:Headaches Coach:Coaches Beach:Beaches
Branch:Branches Approach:Approaches Sandwich:Sandwiches Switch:Switches Search:Searches
"""
# fmt: on
NOUN_PAIRS = [tuple(pair.split(":")) for pair in NOUNS.split()]
SINGULARS = [singular for singular, _ in NOUN_PAIRS]

AMBIGUOUS_PLURALS = [
    # (singular, its plural, the commoner noun that plural reads as)
    ("Basis", "Bases", "Base"),  # `Database` -> `Databases` -> `Database`
    ("Ellipsis", "Ellipses", "Ellipse"),
    ("Axe", "Axes", "Axis"),
]


@pytest.mark.parametrize(("singular", "plural"), NOUN_PAIRS)
def test_a_nouns_plural_is_as_english_spells_it_and_reads_back_as_the_noun(
    singular: str, plural: str
) -> None:
    assert pluralize(singular) == plural
    assert singularize(plural) == singular


@pytest.mark.parametrize("singular", SINGULARS)
def test_a_singular_noun_stays_as_it_is(singular: str) -> None:
    """The ones ending in -s too: `Status` was `Statu`, `Crisis` `Crisi`, `Alias` `Alia`."""
    assert singularize(singular) == singular


def test_every_singular_ending_in_us_ss_or_is_is_in_the_list() -> None:
    """The invariant the list exists for has cases of each ending."""
    endings = {ending for ending in ("us", "ss", "is") for word in SINGULARS if word.endswith(ending)}
    assert endings == {"us", "ss", "is"}


@pytest.mark.parametrize(("singular", "plural", "read_as"), AMBIGUOUS_PLURALS)
def test_a_plural_two_nouns_share_reads_as_the_commoner(singular: str, plural: str, read_as: str) -> None:
    assert pluralize(singular) == plural
    assert singularize(plural) == read_as
    assert singularize(singular) == singular


@pytest.mark.parametrize(
    ("name", "singular"),
    [("SKUs", "SKU"), ("APIs", "API"), ("IDs", "ID"), ("CPUs", "CPU"), ("us", "us"), ("Us", "Us")],
)
def test_an_acronyms_plural_drops_its_s_and_a_lone_us_stays(name: str, singular: str) -> None:
    assert singularize(name) == singular


@pytest.mark.parametrize(
    ("plural", "singular"),
    [("Copies", "Copy"), ("Stories", "Story"), ("Categories", "Category"), ("Replies", "Reply"),
     ("Puppies", "Puppy"), ("Cities", "City"), ("Dies", "Die"), ("Magpies", "Magpie")],
)  # fmt: skip
def test_only_an_ie_noun_reads_its_ies_as_ie(plural: str, singular: str) -> None:
    """`Movies` is `Movie` (it was `Movy`), but `Copies` is still `Copy`: the -ie nouns
    are listed, and a four-letter -ies (`Pies`, `Dies`) is one, as no noun is `Py`."""
    assert singularize(plural) == singular


@pytest.mark.parametrize("name", ["URLS", "APIS", "GPS", "OS", "AWS", "HTTPS", "CustomerIDS"])
def test_a_name_ending_in_capitals_is_an_acronym_and_stays(name: str) -> None:
    """`pluralize` gives an acronym a small s (`URLs`), so capitals are never a plural:
    `GPS` and `OS` stay (they were `GP` and `O`)."""
    assert singularize(name) == name
