# METADATA
# title: Sharing decision
# description: |
#   Decides, at the node that holds a subject's records, which categories a
#   partner's staff member may see. A category is released when it is requested,
#   a sharing agreement (data.share.agreements) lets the requester's organisation
#   kind and role see it for the purpose, and the customer's consent covers the
#   purpose, the requesting organisation, the category and the action "read"
#   (special categories need consent naming them explicitly). The emergency path
#   (vital interests, safeguarding) bypasses consent for the roles the taxonomy
#   marks emergency_access, only for the purposes and requesting organisation
#   kinds the basis lists in data, only with a written justification, and always carries
#   the flag_emergency and notify_customer obligations. Categories whose existence
#   is hidden (criminal justice) never appear in the output unless released. A
#   category withheld for want of consent is reported only when the holder holds
#   records of it (held_categories), so a view never claims a partner holds
#   something it does not; "no agreement covers this" is reported regardless.
#
# Input (built by the share endpoint, node/share/service.py):
#   requester: {org_id, org_kind, role, staff}   holder: {org_id, org_kind}
#   purpose, action ("read"), subject_id, requested_categories: [category]
#   consent: {valid, provisions: [{consent_id, purposes, recipients, categories, actions}]}
#   emergency: null | {basis: "vital_interests" | "safeguarding", justification}
#   held_categories: [category]  (the holder holds at least one record of these)
# Output: {allow, categories, withheld: [{category, code, held, reason}],
#          withheld_fields: {category: [field]}, obligations, reasons}
package joinedup.share

import rego.v1

_categories := data.taxonomy.categories

_agreements := data.share.agreements

_emergency := data.share.emergency

default decision := {
	"allow": false,
	"categories": [],
	"withheld": [],
	"withheld_fields": {},
	"obligations": [],
	"reasons": ["the request is incomplete or malformed, so nothing is released"],
}

# METADATA
# title: decision
# description: The one entry point; see the package description.
# entrypoint: true
decision := {
	"allow": count(_released) > 0,
	"categories": sort([c | some c in _released]),
	"withheld": _withheld,
	"withheld_fields": _withheld_fields,
	"obligations": _obligations,
	"reasons": array.concat(_release_reasons, _other_reasons),
} if {
	_well_formed
}

_well_formed if {
	is_string(input.requester.org_id)
	is_string(input.requester.org_kind)
	is_string(input.requester.role)
	is_string(input.holder.org_kind)
	is_string(input.purpose)
	is_string(input.action)
	is_array(input.requested_categories)
}

_requested := {c | some c in input.requested_categories}

_reading if input.action == "read"

# What the sharing agreements allow depends only on the holder's and the
# requester's organisation kinds, the requester's role and the purpose, never on
# the person or their consent. ``contexts`` works it out for every such context;
# the embedded engines evaluate it once per policy generation and hand it back as
# data.precomputed.share.contexts (node/policy/precompute.py), so a request only
# looks its context up. An engine without it (an OPA server given this directory)
# works out the one context the request needs, with the same result.
# object.get with a path, rather than four brackets, because regorus evaluates a
# chain of dynamic keys several times slower.
_context_here := context if {
	context := object.get(
		data.precomputed.share.contexts,
		[input.holder.org_kind, input.requester.org_kind, input.requester.role, input.purpose],
		_no_context,
	)
} else := _context(
	object.get(_agreements, [input.holder.org_kind, input.requester.org_kind], []),
	input.requester.role,
	input.purpose,
)

# holder kind -> requester kind -> role -> purpose -> {"agreed": {category: [withheld field]}}:
# the categories some agreement lets that role see for that purpose, each with the
# fields any of those agreements removes (the most cautious reading).
contexts := {holder_kind: by_requester |
	some holder_kind, kinds in _agreements
	by_requester := {requester_kind: by_role |
		some requester_kind, agreements in kinds
		by_role := {role: by_purpose |
			some role in {r | some a in agreements; some r in a.roles}
			by_purpose := {purpose: _context(agreements, role, purpose) |
				some purpose in {p | some a in agreements; role in a.roles; some p in a.purposes}
			}
		}
	}
}

_context(agreements, role, purpose) := {"agreed": {category: fields |
	matching := [a | some a in agreements; role in a.roles; purpose in a.purposes]
	some category in {c | some a in matching; some c in a.categories}
	fields := sort([f |
		some a in matching
		some f in object.get(object.get(a, "withheld_fields", {}), category, [])
	])
}}

_no_context := {"agreed": {}}

_agreed := _context_here.agreed

_consent_valid if input.consent.valid == true

# Categories named by a provision for this purpose that names the requesting
# organisation as recipient and allows it to read (FHIR R4 Consent.provision:
# purpose, actor, action). "*" stands for every ordinary category.
_consented := {c |
	_consent_valid
	purpose := input.purpose
	recipient := input.requester.org_id
	some p in input.consent.provisions
	purpose in p.purposes
	recipient in p.recipients
	"read" in p.actions
	some c in p.categories
}

_wildcard if "*" in _consented

_consent_released contains c if {
	_reading
	some c in _requested
	_agreed[c]
	_consented[c]
	_categories[c]
}

# A wildcard provision covers only ordinary categories: special category data
# needs explicit consent (UK GDPR Art. 9(2)(a)).
_consent_released contains c if {
	_reading
	_wildcard
	some c in _requested
	_agreed[c]
	_categories[c].special == false
}

# Emergency path.
_emergency_asked if is_object(input.emergency)

_emergency_role if data.taxonomy.roles[input.requester.role].emergency_access == true

_emergency_basis := _emergency.bases[input.emergency.basis]

_justified if {
	is_string(input.emergency.justification)
	count(trim_space(input.emergency.justification)) >= _emergency.min_justification_chars
}

# A basis covers only the purposes and requesting organisation kinds listed for
# it in data (safeguarding is for safeguarding, by organisations with a
# safeguarding duty); "service_planning" is never among them.
_emergency_purpose if input.purpose in _emergency_basis.purposes

_emergency_kind if input.requester.org_kind in _emergency_basis.requester_kinds

_emergency_granted if {
	_emergency_asked
	_reading
	_emergency_role
	_emergency_basis
	_emergency_purpose
	_emergency_kind
	_justified
}

_emergency_released contains c if {
	_emergency_granted
	some c in _requested
	c in _emergency_basis.categories
}

_released := _consent_released | _emergency_released

# Iterates the codes rather than looking each requested category up: regorus's VM
# (node/policy/regorus_engine.py) would keep an undefined lookup as an element.
_withheld := [w |
	some c in sort(object.keys(_withheld_code))
	code := _withheld_code[c]
	held := object.get(_says_held, code, false)
	_may_say(c, held)
	w := {"category": c, "code": code, "held": held, "reason": data.share.withheld_reasons[code]}
]

# Codes that tell the requester the holder has records of the category (consent is
# what is missing). The others say only that no agreement covers the request, which
# is true whatever the holder holds.
_says_held := {
	"consent_not_valid": true,
	"special_category_needs_explicit_consent": true,
	"no_consent": true,
}

# A view must never claim a partner holds what it does not: "held but not
# released" is said only for categories the holder holds records in.
_held := {c | some c in input.held_categories}

_may_say(_, held) if held == false

_may_say(c, held) if {
	held == true
	_held[c]
}

# Why each requested category was not released; the conditions are disjoint and
# checked in the order a data-protection officer would explain them. Hidden
# categories get no entry, so their existence is never revealed.
_withheld_code[c] := "unknown_category" if {
	some c in _requested
	not _categories[c]
}

_withheld_code[c] := "action_not_permitted" if {
	not _reading
	some c in _refused
}

_withheld_code[c] := "not_in_agreement" if {
	_reading
	some c in _refused
	not _agreed[c]
}

_withheld_code[c] := "consent_not_valid" if {
	_reading
	not _consent_valid
	some c in _refused
	_agreed[c]
}

_withheld_code[c] := "special_category_needs_explicit_consent" if {
	_reading
	_consent_valid
	_wildcard
	some c in _refused
	_agreed[c]
}

_withheld_code[c] := "no_consent" if {
	_reading
	_consent_valid
	not _wildcard
	some c in _refused
	_agreed[c]
}

# Requested, known, not hidden and not released.
_refused contains c if {
	some c in _requested
	_categories[c].existence_hidden == false
	not _released[c]
}

# Fields removed from released records: those named by every matching agreement
# for a category released with consent (see contexts), or the emergency list for
# a category released only on the emergency path.
_withheld_fields[c] := fields if {
	some c in _consent_released
	fields := _agreed[c]
	count(fields) > 0
}

_withheld_fields[c] := fields if {
	some c in _emergency_released
	not c in _consent_released
	fields := sort([f | some f in object.get(_emergency.withheld_fields, c, [])])
	count(fields) > 0
}

default _obligations := []

_obligations := ["flag_emergency", "notify_customer"] if _emergency_granted

_release_reasons := [concat("", [c, _release_basis[c]]) | some c in sort([x | some x in _released])]

_release_basis[c] := ": released with the customer's consent under a sharing agreement" if {
	some c in _consent_released
}

_release_basis[c] := concat("", [": released on the emergency path (", input.emergency.basis, ")"]) if {
	some c in _emergency_released
	not c in _consent_released
}

_other_reasons := sort([r | some r in _notes])

_notes contains "the consent token is not valid, so nothing is released with consent" if {
	not _consent_valid
}

_notes contains "the share decision only covers reading records" if not _reading

_notes contains r if {
	_emergency_granted
	r := concat("", [
		"emergency access on the basis of ", input.emergency.basis,
		" by a ", input.requester.role, ": the access is flagged and the customer will be told",
	])
}

_notes contains r if {
	_emergency_asked
	not _emergency_role
	r := concat("", ["emergency access refused: the role ", input.requester.role, " may not use the emergency path"])
}

_notes contains "emergency access refused: the basis is not one the agreements recognise" if {
	_emergency_asked
	not _emergency_basis
}

_notes contains "emergency access refused: this basis does not cover the purpose asked for" if {
	_emergency_asked
	_emergency_basis
	not _emergency_purpose
}

_notes contains "emergency access refused: this kind of organisation may not use this basis" if {
	_emergency_asked
	_emergency_basis
	not _emergency_kind
}

_notes contains r if {
	_emergency_asked
	not _justified
	r := sprintf("emergency access refused: a written justification of at least %d characters is required", [_emergency.min_justification_chars])
}

_notes contains "nothing requested could be released" if count(_released) == 0
