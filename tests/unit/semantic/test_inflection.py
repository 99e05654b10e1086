"""Verb forms over a broad list of the verbs apps name: each as English spells it, and read
back as the verb, which is how `record_action` refuses an inflected verb (its past names
the action's event, `Document.formatted`)."""

from __future__ import annotations

import pytest

from dotdo import conjugate
from dotdo.semantic.inflection import participle_bases, past_tense_bases, third_person_bases

# fmt: off
VERBS = """
create:created:creating:creates update:updated:updating:updates delete:deleted:deleting:deletes
ship:shipped:shipping:ships place:placed:placing:places pay:paid:paying:pays
carry:carried:carrying:carries play:played:playing:plays watch:watched:watching:watches
visit:visited:visiting:visits refer:referred:referring:refers agree:agreed:agreeing:agrees
die:died:dying:dies tie:tied:tying:ties free:freed:freeing:frees dye:dyed:dyeing:dyes
send:sent:sending:sends go:went:going:goes do:did:doing:does run:ran:running:runs
rerun:reran:rerunning:reruns withdraw:withdrew:withdrawing:withdraws undo:undid:undoing:undoes
sign:signed:signing:signs signUp:signedUp:signingUp:signsUp checkIn:checkedIn:checkingIn:checksIn
logIn:loggedIn:loggingIn:logsIn optIn:optedIn:optingIn:optsIn shipOut:shippedOut:shippingOut:shipsOut
open:opened:opening:opens close:closed:closing:closes approve:approved:approving:approves
reject:rejected:rejecting:rejects submit:submitted:submitting:submits
resubmit:resubmitted:resubmitting:resubmits commit:committed:committing:commits
recommit:recommitted:recommitting:recommits admit:admitted:admitting:admits
readmit:readmitted:readmitting:readmits emit:emitted:emitting:emits
transmit:transmitted:transmitting:transmits occur:occurred:occurring:occurs
prefer:preferred:preferring:prefers transfer:transferred:transferring:transfers
defer:deferred:deferring:defers infer:inferred:inferring:infers inter:interred:interring:inters
control:controlled:controlling:controls patrol:patrolled:patrolling:patrols
compel:compelled:compelling:compels repel:repelled:repelling:repels
regret:regretted:regretting:regrets rebut:rebutted:rebutting:rebuts
cancel:canceled:canceling:cancels travel:traveled:traveling:travels label:labeled:labeling:labels
model:modeled:modeling:models level:leveled:leveling:levels signal:signaled:signaling:signals
total:totaled:totaling:totals channel:channeled:channeling:channels fuel:fueled:fueling:fuels
refuel:refueled:refueling:refuels dial:dialed:dialing:dials relabel:relabeled:relabeling:relabels
remodel:remodeled:remodeling:remodels unravel:unraveled:unraveling:unravels
revel:reveled:reveling:revels bevel:beveled:beveling:bevels rebel:rebelled:rebelling:rebels
format:formatted:formatting:formats program:programmed:programming:programs
enrol:enrolled:enrolling:enrols enroll:enrolled:enrolling:enrolls fulfil:fulfilled:fulfilling:fulfils
extol:extolled:extolling:extols impel:impelled:impelling:impels appal:appalled:appalling:appals
enthral:enthralled:enthralling:enthrals befit:befitted:befitting:befits outwit:outwitted:outwitting:outwits
diagram:diagrammed:diagramming:diagrams kidnap:kidnapped:kidnapping:kidnaps
debug:debugged:debugging:debugs bootstrap:bootstrapped:bootstrapping:bootstraps
equip:equipped:equipping:equips acquit:acquitted:acquitting:acquits
quiz:quizzed:quizzing:quizzes squat:squatted:squatting:squats conquer:conquered:conquering:conquers
equal:equaled:equaling:equals panic:panicked:panicking:panics picnic:picnicked:picnicking:picnics
mimic:mimicked:mimicking:mimics traffic:trafficked:trafficking:traffics
frolic:frolicked:frolicking:frolics sync:synced:syncing:syncs arc:arced:arcing:arcs
pick:picked:picking:picks handpick:handpicked:handpicking:handpicks click:clicked:clicking:clicks
kick:kicked:kicking:kicks attack:attacked:attacking:attacks track:tracked:tracking:tracks
zip:zipped:zipping:zips unzip:unzipped:unzipping:unzips pin:pinned:pinning:pins
unpin:unpinned:unpinning:unpins plug:plugged:plugging:plugs unplug:unplugged:unplugging:unplugs
wrap:wrapped:wrapping:wraps unwrap:unwrapped:unwrapping:unwraps star:starred:starring:stars
unstar:unstarred:unstarring:unstars tag:tagged:tagging:tags untag:untagged:untagging:untags
retag:retagged:retagging:retags ban:banned:banning:bans unban:unbanned:unbanning:unbans
reship:reshipped:reshipping:reships outwit:outwitted:outwitting:outwits
outfit:outfitted:outfitting:outfits overlap:overlapped:overlapping:overlaps
overstep:overstepped:overstepping:oversteps overfit:overfitted:overfitting:overfits
underpin:underpinned:underpinning:underpins recap:recapped:recapping:recaps
remap:remapped:remapping:remaps refit:refitted:refitting:refits remit:remitted:remitting:remits
befit:befitted:befitting:befits rescan:rescanned:rescanning:rescans scan:scanned:scanning:scans
unflag:unflagged:unflagging:unflags flag:flagged:flagging:flags
reckon:reckoned:reckoning:reckons beckon:beckoned:beckoning:beckons
render:rendered:rendering:renders rerender:rerendered:rerendering:rerenders
redden:reddened:reddening:reddens reopen:reopened:reopening:reopens
recover:recovered:recovering:recovers remember:remembered:remembering:remembers
deliver:delivered:delivering:delivers develop:developed:developing:develops
offer:offered:offering:offers enter:entered:entering:enters reenter:reentered:reentering:reenters
happen:happened:happening:happens listen:listened:listening:listens edit:edited:editing:edits
audit:audited:auditing:audits credit:credited:crediting:credits debit:debited:debiting:debits
deposit:deposited:depositing:deposits limit:limited:limiting:limits profit:profited:profiting:profits
benefit:benefited:benefiting:benefits target:targeted:targeting:targets
retarget:retargeted:retargeting:retargets budget:budgeted:budgeting:budgets
market:marketed:marketing:markets comment:commented:commenting:comments
inherit:inherited:inheriting:inherits inhabit:inhabited:inhabiting:inhabits
revisit:revisited:revisiting:revisits differ:differed:differing:differs wonder:wondered:wondering:wonders
order:ordered:ordering:orders reorder:reordered:reordering:reorders filter:filtered:filtering:filters
answer:answered:answering:answers alter:altered:altering:alters utter:uttered:uttering:utters
register:registered:registering:registers unregister:unregistered:unregistering:unregisters
forget:forgot:forgetting:forgets forbid:forbade:forbidding:forbids forgive:forgave:forgiving:forgives
begin:began:beginning:begins upset:upset:upsetting:upsets input:input:inputting:inputs
output:output:outputting:outputs reset:reset:resetting:resets stop:stopped:stopping:stops
drop:dropped:dropping:drops plan:planned:planning:plans chat:chatted:chatting:chats
log:logged:logging:logs blog:blogged:blogging:blogs shop:shopped:shopping:shops
snap:snapped:snapping:snaps fix:fixed:fixing:fixes mix:mixed:mixing:mixes box:boxed:boxing:boxes
unbox:unboxed:unboxing:unboxes tax:taxed:taxing:taxes fax:faxed:faxing:faxes
show:showed:showing:shows snow:snowed:snowing:snows allow:allowed:allowing:allows
follow:followed:following:follows unfollow:unfollowed:unfollowing:unfollows
tow:towed:towing:tows enjoy:enjoyed:enjoying:enjoys deploy:deployed:deploying:deploys
redeploy:redeployed:redeploying:redeploys obey:obeyed:obeying:obeys relay:relayed:relaying:relays
delay:delayed:delaying:delays lay:laid:laying:lays mislay:mislaid:mislaying:mislays
overlay:overlaid:overlaying:overlays key:keyed:keying:keys survey:surveyed:surveying:surveys
apply:applied:applying:applies reply:replied:replying:replies copy:copied:copying:copies
try:tried:trying:tries retry:retried:retrying:retries verify:verified:verifying:verifies
notify:notified:notifying:notifies study:studied:studying:studies spy:spied:spying:spies
queue:queued:queuing:queues argue:argued:arguing:argues continue:continued:continuing:continues
value:valued:valuing:values issue:issued:issuing:issues glue:glued:gluing:glues
canoe:canoed:canoeing:canoes hoe:hoed:hoeing:hoes eye:eyed:eyeing:eyes age:aged:aging:ages
like:liked:liking:likes share:shared:sharing:shares merge:merged:merging:merges
archive:archived:archiving:archives unarchive:unarchived:unarchiving:unarchives
hope:hoped:hoping:hopes hop:hopped:hopping:hops tape:taped:taping:tapes tap:tapped:tapping:taps
stare:stared:staring:stares publish:published:publishing:publishes
unpublish:unpublished:unpublishing:unpublishes push:pushed:pushing:pushes pull:pulled:pulling:pulls
fetch:fetched:fetching:fetches search:searched:searching:searches match:matched:matching:matches
cache:cached:caching:caches patch:patched:patching:patches squash:squashed:squashing:squashes
pass:passed:passing:passes process:processed:processing:processes focus:focused:focusing:focuses
bias:biased:biasing:biases alias:aliased:aliasing:aliases access:accessed:accessing:accesses
address:addressed:addressing:addresses guess:guessed:guessing:guesses discuss:discussed:discussing:discusses
dismiss:dismissed:dismissing:dismisses buzz:buzzed:buzzing:buzzes fizz:fizzed:fizzing:fizzes
fill:filled:filling:fills kill:killed:killing:kills call:called:calling:calls
recall:recalled:recalling:recalls roll:rolled:rolling:rolls poll:polled:polling:polls
enroll:enrolled:enrolling:enrolls install:installed:installing:installs
uninstall:uninstalled:uninstalling:uninstalls fulfill:fulfilled:fulfilling:fulfills
spell:spelled:spelling:spells misspell:misspelled:misspelling:misspells
email:emailed:emailing:emails text:texted:texting:texts invite:invited:inviting:invites
assign:assigned:assigning:assigns unassign:unassigned:unassigning:unassigns
schedule:scheduled:scheduling:schedules book:booked:booking:books rent:rented:renting:rents
upload:uploaded:uploading:uploads download:downloaded:downloading:downloads
import:imported:importing:imports export:exported:exporting:exports print:printed:printing:prints
mute:muted:muting:mutes unmute:unmuted:unmuting:unmutes block:blocked:blocking:blocks
unblock:unblocked:unblocking:unblocks lock:locked:locking:locks unlock:unlocked:unlocking:unlocks
report:reported:reporting:reports rate:rated:rating:rates review:reviewed:reviewing:reviews
view:viewed:viewing:views renew:renewed:renewing:renews expire:expired:expiring:expires
refund:refunded:refunding:refunds charge:charged:charging:charges bill:billed:billing:bills
invoice:invoiced:invoicing:invoices pack:packed:packing:packs unpack:unpacked:unpacking:unpacks
vote:voted:voting:votes upvote:upvoted:upvoting:upvotes veto:vetoed:vetoing:vetoes
echo:echoed:echoing:echoes radio:radioed:radioing:radios tattoo:tattooed:tattooing:tattoos
shampoo:shampooed:shampooing:shampoos ski:skied:skiing:skis taxi:taxied:taxiing:taxis
ping:pinged:pinging:pings rewrite:rewrote:rewriting:rewrites override:overrode:overriding:overrides
overwrite:overwrote:overwriting:overwrites upgrade:upgraded:upgrading:upgrades
subscribe:subscribed:subscribing:subscribes unsubscribe:unsubscribed:unsubscribing:unsubscribes
befriend:befriended:befriending:befriends unfriend:unfriended:unfriending:unfriends
resend:resent:resending:resends rebuild:rebuilt:rebuilding:rebuilds index:indexed:indexing:indexes
reindex:reindexed:reindexing:reindexes relax:relaxed:relaxing:relaxes remix:remixed:remixing:remixes
outline:outlined:outlining:outlines overlook:overlooked:overlooking:overlooks
overload:overloaded:overloading:overloads overflow:overflowed:overflowing:overflows
unveil:unveiled:unveiling:unveils uncover:uncovered:uncovering:uncovers unlink:unlinked:unlinking:unlinks
upend:upended:upending:upends uproot:uprooted:uprooting:uproots intern:interned:interning:interns
intend:intended:intending:intends invest:invested:investing:invests invent:invented:inventing:invents
reinvent:reinvented:reinventing:reinvents become:became:becoming:becomes behave:behaved:behaving:behaves
belong:belonged:belonging:belongs forward:forwarded:forwarding:forwards forfeit:forfeited:forfeiting:forfeits
foreclose:foreclosed:foreclosing:forecloses forecast:forecast:forecasting:forecasts
foresee:foresaw:foreseeing:foresees withhold:withheld:withholding:withholds
outrun:outran:outrunning:outruns outnumber:outnumbered:outnumbering:outnumbers
outperform:outperformed:outperforming:outperforms overrun:overran:overrunning:overruns
undercut:undercut:undercutting:undercuts undergo:underwent:undergoing:undergoes
oversee:oversaw:overseeing:oversees redeem:redeemed:redeeming:redeems reboot:rebooted:rebooting:reboots
reroute:rerouted:rerouting:reroutes reason:reasoned:reasoning:reasons relish:relished:relishing:relishes
reveal:revealed:revealing:reveals repeal:repealed:repealing:repeals remain:remained:remaining:remains
repair:repaired:repairing:repairs recolor:recolored:recoloring:recolors stub:stubbed:stubbing:stubs
mock:mocked:mocking:mocks grab:grabbed:grabbing:grabs drag:dragged:dragging:drags
swap:swapped:swapping:swaps trim:trimmed:trimming:trims crop:cropped:cropping:crops
zoom:zoomed:zooming:zooms scroll:scrolled:scrolling:scrolls hover:hovered:hovering:hovers
swipe:swiped:swiping:swipes fork:forked:forking:forks rebase:rebased:rebasing:rebases
bump:bumped:bumping:bumps tweet:tweeted:tweeting:tweets need:needed:needing:needs
proceed:proceeded:proceeding:proceeds succeed:succeeded:succeeding:succeeds
embed:embedded:embedding:embeds shred:shredded:shredding:shreds
guarantee:guaranteed:guaranteeing:guarantees referee:refereed:refereeing:referees
disagree:disagreed:disagreeing:disagrees
unZip:unZipped:unZipping:unZips reShip:reShipped:reShipping:reShips reRun:reRan:reRunning:reRuns
upVote:upVoted:upVoting:upVotes withDraw:withDrew:withDrawing:withDraws
unZipAll:unZippedAll:unZippingAll:unZipsAll offset:offset:offsetting:offsets
downcast:downcast:downcasting:downcasts offload:offloaded:offloading:offloads
offer:offered:offering:offers unquiz:unquizzed:unquizzing:unquizzes
unbuzz:unbuzzed:unbuzzing:unbuzzes
preOrder:preOrdered:preOrdering:preOrders softDelete:softDeleted:softDeleting:softDeletes
bulkUpdate:bulkUpdated:bulkUpdating:bulkUpdates cherryPick:cherryPicked:cherryPicking:cherryPicks
forceDelete:forceDeleted:forceDeleting:forceDeletes dryRun:dryRan:dryRunning:dryRuns
preApprove:preApproved:preApproving:preApproves
deQueue:deQueued:deQueuing:deQueues coAuthor:coAuthored:coAuthoring:coAuthors
disEnable:disEnabled:disEnabling:disEnables autoSave:autoSaved:autoSaving:autoSaves
eTag:eTagged:eTagging:eTags eSign:eSigned:eSigning:eSigns xRay:xRayed:xRaying:xRays
reIndex:reIndexed:reIndexing:reIndexes multiSelect:multiSelected:multiSelecting:multiSelects
subLet:subLet:subLetting:subLets superCharge:superCharged:superCharging:superCharges
interAct:interActed:interActing:interActs selfHost:selfHosted:selfHosting:selfHosts
preSet:preSet:preSetting:preSets coWrite:coWrote:coWriting:coWrites reLay:reLaid:reLaying:reLays
postMessage:postedMessage:postingMessage:postsMessage backUp:backedUp:backingUp:backsUp
crossOut:crossedOut:crossingOut:crossesOut addItem:addedItem:addingItem:addsItem
setUp:setUp:settingUp:setsUp sendEmail:sentEmail:sendingEmail:sendsEmail
preship:preshipped:preshipping:preships preset:preset:presetting:presets
prepay:prepaid:prepaying:prepays presell:presold:preselling:presells
prebuild:prebuilt:prebuilding:prebuilds precut:precut:precutting:precuts
preshrink:preshrank:preshrinking:preshrinks preplan:preplanned:preplanning:preplans
prefab:prefabbed:prefabbing:prefabs cowrite:cowrote:cowriting:cowrites
disbar:disbarred:disbarring:disbars dispel:dispelled:dispelling:dispels
present:presented:presenting:presents preach:preached:preaching:preaches
press:pressed:pressing:presses prevent:prevented:preventing:prevents
predict:predicted:predicting:predicts prepare:prepared:preparing:prepares
preview:previewed:previewing:previews prefix:prefixed:prefixing:prefixes
prevail:prevailed:prevailing:prevails preside:presided:presiding:presides
cost:cost:costing:costs dish:dished:dishing:dishes dissent:dissented:dissenting:dissents
discover:discovered:discovering:discovers display:displayed:displaying:displays
dispose:disposed:disposing:disposes depend:depended:depending:depends
decide:decided:deciding:decides deter:deterred:deterring:deters debut:debuted:debuting:debuts
demean:demeaned:demeaning:demeans delight:delighted:delighting:delights
deride:derided:deriding:derides cover:covered:covering:covers color:colored:coloring:colors
covet:coveted:coveting:covets cower:cowered:cowering:cowers cope:coped:coping:copes
cosign:cosigned:cosigning:cosigns combine:combined:combining:combines
"""
# fmt: on
VERB_FORMS = [tuple(entry.split(":")) for entry in VERBS.split()]


@pytest.mark.parametrize(("base", "past", "participle", "third"), VERB_FORMS)
def test_a_verbs_forms_are_as_english_spells_them(base: str, past: str, participle: str, third: str) -> None:
    forms = conjugate(base)
    assert (forms.past, forms.participle, forms.third_person) == (past, participle, third)


@pytest.mark.parametrize("base", [base for base, *_ in VERB_FORMS])
def test_each_form_of_a_verb_reads_back_as_that_verb(base: str) -> None:
    """What `record_action` uses to refuse `formatted` as a verb, naming `format`."""
    forms = conjugate(base)
    if forms.past != base:  # `upset`, `reset`: a past that is its own base reads as a base
        assert base in past_tense_bases(forms.past)
    assert base in participle_bases(forms.participle)
    assert base in third_person_bases(forms.third_person)


@pytest.mark.parametrize(
    "base", ["reckon", "beckon", "render", "redden", "revel", "bevel", "reason", "reopen"]
)
def test_a_prefix_spelt_in_a_word_that_is_no_prefix_doubles_nothing(base: str) -> None:
    """`re` + a one-syllable word doubles (`reship` -> `reshipped`), but only when the rest
    begins as a word may (`nder`, `ckon` and `dden` do not), and not in the few verbs
    stressed on that syllable before (`revel`)."""
    assert conjugate(base).past == base + "ed"


# Words that are no verb of their own, and single letters: a camelCase verb beginning with
# one inflects the word after it.
CAMEL_PREFIXES = """
un re up in out off down over under with fore for mis pre dis co de anti auto bi ex extra geo
hyper infra inter intra macro mega meta micro mid mini multi non omni poly pro pseudo retro self
semi sub super trans tri ultra uni e x i
""".split()  # noqa: SIM905 - three lines, where a list literal would take eight
PLAIN_VERBS = [forms for forms in VERB_FORMS if forms[0].islower()]


@pytest.mark.parametrize("prefix", CAMEL_PREFIXES)
def test_a_camelcase_prefix_inflects_the_word_after_it(prefix: str) -> None:
    """`preOrder` -> `preOrdered` (it was `predOrder`), for every verb of the table, and
    each form reads back as the verb."""

    def camel(word: str) -> str:
        return prefix + word[:1].upper() + word[1:]

    for base, past, participle, third in PLAIN_VERBS:
        verb = camel(base)
        forms = conjugate(verb)
        expected = (camel(past), camel(participle), camel(third))
        assert (forms.past, forms.participle, forms.third_person) == expected
        if past != base:
            assert verb in past_tense_bases(forms.past)
        assert verb in participle_bases(forms.participle)
        assert verb in third_person_bases(forms.third_person)
        for bases in (past_tense_bases, participle_bases, third_person_bases):
            assert bool(bases(verb)) == bool(bases(base))  # a base form under the prefix too


@pytest.mark.parametrize("head", ["post", "back", "cross", "counter", "log", "sign", "check", "set", "add"])
def test_a_camelcase_verb_whose_first_word_is_a_verb_inflects_that_word(head: str) -> None:
    """`postMessage` -> `postedMessage`, as `signUp` -> `signedUp`: only words that are no
    verb of their own are read as prefixes."""
    assert conjugate(head + "Order").past == conjugate(head).past + "Order"
