"""An action's verb is a base form that names no thing-store event: its past tense names
the event (`Customer.<past>`), so an inflected form would be conjugated again
(`shipped` -> `Customer.shippeded`) and a lifecycle verb would raise `Customer.updated`
for a write that never happened. An edge's verb follows the same rule for the lifecycle
verbs (one check, `check_unreserved_verb`), and edges stored under one before still read
and delete."""

from __future__ import annotations

import pytest

from dotdo.core.migrations import migrate
from dotdo.core.sql import Sql
from dotdo.errors import BadRequest
from dotdo.semantic.graph import GRAPH_TABLES, Actions, Ref, Relationships
from dotdo.semantic.registry import REGISTRY_TABLES, Verb, Verbs
from tests.storage import Storage

EVERY_RESERVED_FORM = [
    *("create", "created", "creating", "creates"),
    *("update", "updated", "updating", "updates"),
    *("delete", "deleted", "deleting", "deletes"),
    *("restore", "restored", "restoring", "restores"),
]


def verbs() -> Verbs:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES], 1)
    return Verbs(sql, lambda: 1)


@pytest.mark.parametrize("verb", ["create", "update", "delete", "restore"])
def test_lifecycle_verbs_are_reserved(verb: str) -> None:
    with pytest.raises(BadRequest) as raised:
        verbs().for_action(verb)
    assert raised.value.code == "reserved_verb"


@pytest.mark.parametrize("verb", ["created", "creating", "creates", "updated", "deletes", "restoring"])
def test_inflected_lifecycle_verbs_are_refused(verb: str) -> None:
    with pytest.raises(BadRequest) as raised:
        verbs().for_action(verb)
    assert raised.value.code == "reserved_verb"
    assert "createded" not in str(raised.value)


def test_an_inflected_registered_verb_names_its_base() -> None:
    registry = verbs()
    registry.register("ship")
    for form in ("shipped", "shipping", "ships"):
        with pytest.raises(BadRequest, match="'ship'") as raised:
            registry.for_action(form)
        assert raised.value.code == "invalid_verb"
    assert registry.for_action("ship").past == "shipped"


@pytest.mark.parametrize(
    ("verb", "base"),
    [("moved", "'move'"), ("shipped", "'ship'"), ("ran", "'run'"), ("shippedOut", "'shipOut'")],
)
def test_a_verb_not_registered_in_the_past_tense_is_refused_naming_its_base(verb: str, base: str) -> None:
    """`moved` was taken as a base: its event was `Item.moveded` and its edge `moveded`."""
    with pytest.raises(BadRequest) as raised:
        verbs().for_action(verb)
    assert raised.value.code == "invalid_verb"
    assert f"a past tense (of {base})" in raised.value.message and "eded" not in raised.value.message


@pytest.mark.parametrize(
    ("verb", "base"),
    [
        ("contains", "'contain'"),
        ("carries", "'carry'"),
        ("fixes", "'fix'"),
        ("goes", "'go'"),
        ("signsUp", "'signUp'"),
        ("has", "'have'"),  # irregular: before the endings that stay bases (`Album.hassed`)
        ("is", "'be'"),
        ("skis", "'ski'"),
        ("echoes", "'echo'"),
    ],
)
def test_a_verb_not_registered_in_the_third_person_is_refused_naming_its_base(verb: str, base: str) -> None:
    """`contains` was taken as a base: its event was `Album.containsed` and its edge `containsed`."""
    with pytest.raises(BadRequest) as raised:
        verbs().for_action(verb)
    assert raised.value.code == "invalid_verb"
    assert f"a third person (of {base})" in raised.value.message


@pytest.mark.parametrize(
    ("verb", "named"),
    [
        ("shipping", " (of 'ship')"),
        ("liking", " (of 'like')"),
        ("dying", " (of 'die')"),
        ("running", " (of 'run')"),
        ("being", " (of 'be')"),
        ("shippingOut", " (of 'shipOut')"),
        ("following", ""),  # `follow` or `followe`: spelling cannot tell
        ("ageing", " (of 'age')"),  # the -e kept, as some spell it
    ],
)
def test_a_verb_not_registered_in_the_present_participle_is_refused(verb: str, named: str) -> None:
    """`shipping` was taken as a base: its event was `Album.shippinged` (as `contains` was
    `Album.containsed`), while `creating` was already refused as a form of `create`."""
    with pytest.raises(BadRequest) as raised:
        verbs().for_action(verb)
    assert raised.value.code == "invalid_verb"
    assert f"a present participle{named}: actions take" in raised.value.message


@pytest.mark.parametrize("verb", ["sing", "bring", "string", "ping", "ring", "swing"])
def test_a_base_ending_in_ing_after_no_vowel_stays_a_base(verb: str) -> None:
    assert verbs().for_action(verb).base == verb


@pytest.mark.parametrize(
    ("verb", "past"),
    [
        ("sing", "sang"),
        ("ring", "rang"),
        ("cut", "cut"),
        ("feel", "felt"),
        ("fly", "flew"),
        ("teach", "taught"),
        ("fall", "fell"),
        ("dig", "dug"),
        ("strike", "struck"),
        ("withdraw", "withdrew"),  # a prefix keeps a verb irregular
        ("undergo", "underwent"),
        ("rerun", "reran"),
        ("forbid", "forbade"),
        ("input", "input"),
        ("relay", "relayed"),  # not re-lay
        ("fell", "felled"),  # a past that is a verb of its own stays a base
    ],
)
def test_irregular_verbs_name_their_events_by_their_own_past(verb: str, past: str) -> None:
    """`sing` named its event `Album.singed`, `cut` `Album.cutted`."""
    assert verbs().for_action(verb).past == past
    with pytest.raises(BadRequest, match="a past tense"):
        verbs().for_action("sang")


@pytest.mark.parametrize(
    ("verb", "past"), [("process", "processed"), ("focus", "focused"), ("bias", "biased")]
)
def test_a_base_ending_in_s_stays_a_base(verb: str, past: str) -> None:
    assert verbs().for_action(verb).past == past
    registry = verbs()
    registry.register("buses")  # registered, a spelling is a base whatever it reads as
    assert registry.for_action("buses").past == "busesed"


def test_a_registered_verb_spelt_like_a_past_is_a_base() -> None:
    registry = verbs()
    with pytest.raises(BadRequest, match="'opened' is a past tense: actions take"):
        registry.for_action("opened")  # `open` or `opene`: spelling cannot tell, so none named
    registry.register("bobsledded", past="bobsleddedd")
    registry.register("seeded")
    assert registry.for_action("seeded").past == "seededed"
    assert registry.for_action("bobsledded").past == "bobsleddedd"


def test_an_action_in_the_past_tense_writes_nothing() -> None:
    _, _, actions, relationships = graph()
    with pytest.raises(BadRequest):
        actions.record("Item/i1", "moved", "Place/p1")
    assert actions.list() == [] and relationships.related("Item/i1", "moveded") == []
    assert actions.record("Item/i1", "move", "Place/p1")["event"]["type"] == "Item.moved"


@pytest.mark.parametrize(("verb", "past"), [("place", "placed"), ("embed", "embedded"), ("need", "needed")])
def test_other_verbs_keep_their_forms(verb: str, past: str) -> None:
    assert verbs().for_action(verb).past == past


def graph() -> tuple[Sql, Verbs, Actions, Relationships]:
    sql = Sql(Storage())
    migrate(sql, [REGISTRY_TABLES, GRAPH_TABLES], 1)
    relationships = Relationships(sql, lambda: 1)
    ids = iter(f"01j{n:023d}" for n in range(1, 10_000))
    registry = Verbs(sql, lambda: 1)
    actions = Actions(sql, registry, lambda *event: next(ids), relationships, lambda: 1, lambda: next(ids))
    return sql, registry, actions, relationships


@pytest.mark.parametrize("verb", EVERY_RESERVED_FORM)
def test_an_edge_and_an_action_refuse_every_form_of_a_lifecycle_verb_alike(verb: str) -> None:
    _, _, actions, relationships = graph()
    for write in (
        lambda: relationships.relate("Note/n1", verb, "Note/n2"),
        lambda: actions.record("Note/n1", verb, "Note/n2"),
    ):
        with pytest.raises(BadRequest) as raised:
            write()
        assert raised.value.code == "reserved_verb" and repr(verb) in raised.value.message
    assert relationships.related("Note/n1", verb) == [] and actions.list() == []


def test_an_edge_takes_the_past_tense_an_action_writes_and_other_verbs() -> None:
    _, registry, actions, relationships = graph()
    registry.register("ship")
    assert relationships.relate("Order/o1", "shipped", "Parcel/p1") is True  # the action's edge name
    actions.record("Order/o1", "ship", "Parcel/p2")
    assert relationships.related("Order/o1", "shipped") == [Ref("Parcel", "p1"), Ref("Parcel", "p2")]
    for verb in ("cites", "partOf", "creator", "updater", "recreate"):  # not forms of the four
        assert relationships.relate("Note/n1", verb, "Note/n2") is True


def test_a_verb_whose_stored_past_is_reserved_is_refused_as_an_action() -> None:
    """Registering one is refused now (below); a row stored before that rule still is."""
    sql, _, _, _ = graph()
    sql.run(
        "INSERT INTO dotdo_verbs (base, past, participle, third_person, registered_at) "
        "VALUES ('make', 'created', 'making', 'makes', 1), ('create', 'made', 'creating', 'creates', 1)"
    )
    relationships = Relationships(sql, lambda: 1)
    actions = Actions(sql, Verbs(sql, lambda: 1), lambda *e: "e", relationships, lambda: 1, str)
    for verb in ("make", "create"):
        with pytest.raises(BadRequest) as raised:
            actions.record("Note/n1", verb)
        assert raised.value.code == "reserved_verb"


@pytest.mark.parametrize(
    "forms",
    [
        {"base": "create"},
        {"base": "restore", "past": "put", "participle": "putting", "third_person": "puts"},
        {"base": "make", "past": "created"},
        {"base": "make", "participle": "updating"},
        {"base": "make", "third_person": "deletes"},
        {"base": "make", "past": "made", "participle": "making", "third_person": "restores"},
    ],
)
def test_registering_a_form_of_a_lifecycle_verb_is_refused_at_registration(forms: dict[str, str]) -> None:
    registry = verbs()
    with pytest.raises(BadRequest) as raised:
        registry.register(**forms)
    assert raised.value.code == "reserved_verb" and raised.value.status == 400
    assert registry.all() == []  # nothing written
    assert registry.get("make").past == "made"  # the derived forms, not a stored "created"


@pytest.mark.parametrize("verb", [Verb("create"), Verb("make", past="created"), Verb("Ship")])
def test_a_class_declaring_a_verb_registration_refuses_is_refused_when_defined(verb: Verb) -> None:
    from dotdo import DOSemantic

    with pytest.raises(ValueError, match=r"Declaring\.declared_verbs"):
        type("Declaring", (DOSemantic,), {"declared_verbs": (verb,)})
    type("Fine", (DOSemantic,), {"declared_verbs": (Verb("run", past="ran"),)})


@pytest.mark.parametrize(
    ("declared", "says"),
    [
        ((Verb("escalate"), Verb("escalated")), "'escalated' is a form of the declared verb 'escalate'"),
        ((Verb("format"), Verb("formatted")), "'formatted' is a form of the declared verb 'format'"),
        ((Verb("saw"), Verb("see")), "'saw', a form of 'see', is declared as a verb of its own"),
        ((Verb("see"), Verb("saw")), "'saw' is a form of the declared verb 'see'"),
        ((Verb("ship"), Verb("ship", past="shipt")), "'ship' is declared twice"),
    ],
)
def test_declared_verbs_that_clash_with_one_another_are_refused_when_defined(
    declared: tuple[Verb, ...], says: str
) -> None:
    # `POST /verbs` refuses the second of each pair; declared, both were registered at every start.
    from dotdo import DOSemantic

    with pytest.raises(ValueError, match=f"Declaring.declared_verbs: {says}"):
        type("Declaring", (DOSemantic,), {"declared_verbs": (*declared, Verb("run", past="ran"))})


@pytest.mark.parametrize(
    "declared",
    [
        (Verb("find", past="found"), Verb("found")),
        (Verb("found"), Verb("find", past="found")),
        (Verb("lie", past="lay"), Verb("lay", past="laid")),
        (Verb("see", past="saw"), Verb("saw")),
        (Verb("fall", past="fell"), Verb("fell")),
    ],
)
def test_a_real_pair_is_declared_with_a_past_spelled_out(declared: tuple[Verb, ...]) -> None:
    """`register_verb` and `POST /verbs` take such a pair when a past is given; declared, it
    was refused in either order ("declare 'lie' alone")."""
    from dotdo import DOSemantic

    type("Declaring", (DOSemantic,), {"declared_verbs": declared})


@pytest.mark.parametrize(
    ("verb", "says"),
    [
        (
            "escalated",
            "reads as a past tense of 'escalat' or 'escalate', so its actions would raise <Noun>.escalated",
        ),
        ("shipping", "reads as a present participle of 'ship', so its actions would raise <Noun>.shippinged"),
        ("contains", "reads as a third person of 'contain'"),
    ],
)
def test_a_declared_verb_that_reads_as_inflected_is_refused_naming_the_base(verb: str, says: str) -> None:
    from dotdo import DOSemantic

    with pytest.raises(ValueError, match=f"{says}.*declare the base form, .*Verb\\({verb!r}, past=...\\)"):
        type("Declaring", (DOSemantic,), {"declared_verbs": (Verb(verb),)})


def test_a_declared_verb_with_its_forms_given_or_read_as_a_base_is_taken() -> None:
    from dotdo import DOSemantic

    declared = (
        Verb("escalated", past="escalatedAgain"),  # its author says it is a base
        Verb("need"),
        Verb("shred"),
        Verb("process"),
        Verb("bring"),
        Verb("ship"),
        Verb("ship"),  # twice with the same forms: one verb
        Verb("run", past="ran"),
    )
    type("Declaring", (DOSemantic,), {"declared_verbs": declared})


def test_an_edge_stored_under_a_reserved_verb_before_still_reads_and_deletes() -> None:
    sql, _, _, relationships = graph()
    sql.run(
        "INSERT INTO dotdo_relationships (from_id, from_type, verb, to_id, to_type, data, created_at) "
        "VALUES ('n1', 'Note', 'created', 'n2', 'Note', NULL, 1)"
    )
    assert relationships.related("Note/n1", "created") == [Ref("Note", "n2")]
    assert relationships.page("Note/n2", "created", "in")["items"] == [Ref("Note", "n1")]
    assert relationships.traverse("Note/n1", [{"verb": "created"}]) == [Ref("Note", "n2")]
    assert relationships.unrelate("Note/n1", "created", "Note/n2") is True
    assert relationships.related("Note/n1", "created") == []


@pytest.mark.parametrize(
    ("registered", "new"),
    [
        ("format", "formatted"),
        ("ski", "skied"),
        ("reShip", "reShipped"),
        ("unquiz", "unquizzed"),
        ("ship", "ships"),
        ("ship", "shipping"),
        ("formatted", "format"),  # the other way round: `format`'s past is a verb already
    ],
)
def test_registering_a_form_of_a_registered_verb_is_refused(registered: str, new: str) -> None:
    """`POST /verbs` took `formatted` beside `format` as a new base (201), which every
    action then refused as a form of `format`."""
    registry = verbs()
    registry.register(registered)
    with pytest.raises(BadRequest) as raised:
        registry.register(new)
    assert raised.value.code == "invalid_verb"
    assert [verb.base for verb in registry.all()] == [registered]
    assert registry.register(registered).base == registered  # registering it again is fine


@pytest.mark.parametrize(
    ("registered", "new", "events"),
    [
        (Verb("found"), Verb("find", past="found"), {"found": "founded", "find": "found"}),
        (Verb("find"), Verb("found", past="founded"), {"found": "founded", "find": "found"}),
        (Verb("lie", past="lay"), Verb("lay", past="laid"), {"lie": "lay", "lay": "laid"}),
        (Verb("saw"), Verb("see", past="saw"), {"saw": "sawed", "see": "saw"}),
        (Verb("wind", past="wound"), Verb("wound", past="wounded"), {"wind": "wound", "wound": "wounded"}),
    ],
)
def test_a_verb_registered_with_its_past_may_share_a_form_with_another(
    registered: Verb, new: Verb, events: dict[str, str]
) -> None:
    """English has such pairs (`find`, past `found`, beside `found`): without a past the
    second is refused as above; with one it is taken, and each is a base in actions, so
    `found` names `Customer.founded` and `find` `Customer.found`."""
    registry = verbs()
    registry.register(registered.base, registered.past)
    with pytest.raises(BadRequest):
        registry.register(new.base)
    registry.register(new.base, new.past)
    assert {verb: registry.for_action(verb).past for verb in events} == events
