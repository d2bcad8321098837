# METADATA
# title: Acting decision
# description: |
#   Decides, at the node asked to act, whether a partner's staff member may refer
#   a customer to it, ask it to take an action in the shared plan, or change the
#   plan it holds. The role must be allowed the action (data.act.actions), an
#   agreement between the two organisation kinds must cover the action, purpose
#   and need category (data.act.agreements), and the customer's consent must
#   name the requesting organisation, the purpose, the category (explicitly for
#   special categories) and the consent action the act maps to. A referral may
#   instead go on the emergency path: a basis the acting data lists, covering the
#   purpose and requesting organisation kind as the sharing policy's emergency
#   bases say (data.share.emergency.bases), an emergency role, a written
#   justification and an urgency that cannot wait for consent; it always carries
#   the flag_emergency and notify_customer obligations.
#
#   A referral may carry the person's minimum contact details sealed to the
#   receiver (contact_details: true). The receiver may open them only when the
#   decision carries the receive_contact_details obligation: the act is allowed,
#   an agreement entry covering it says "contact_details": true, and either the
#   customer's consent covers the contact_details category for the same purpose,
#   organisation and consent action, or the act is on the emergency path and the
#   basis covers contact details. Otherwise the referral lands as one that needs
#   contact details and the sender must complete it.
#
# Input (node/referrals builds it for a referral):
#   requester: {org_id, org_kind, role}   holder: {org_id, org_kind}
#   purpose, subject_id (string or null: an incoming referral may be about a
#   person this node does not know), consent (as for joinedup.share),
#   action: "refer" | "create_action" | "update_plan", category,
#   urgency: a key of data.act.referral.urgencies (required for "refer"),
#   contact_details: boolean (optional, false when absent),
#   emergency: null | {basis, justification}
# Output: {allow, obligations, reasons} (categories and withheld stay empty).
package joinedup.act

import rego.v1

_categories := data.taxonomy.categories

_emergency := data.act.emergency

# The urgencies and their response targets are data.act.referral (read by
# node/referrals too). Until that data is present the three urgencies every
# referral offers are assumed, so the policy never accepts an urgency nobody
# defined.
default _urgencies := {"routine": {}, "urgent": {}, "emergency": {}}

_urgencies := data.act.referral.urgencies

default decision := {
	"allow": false,
	"categories": [],
	"withheld": [],
	"withheld_fields": {},
	"obligations": [],
	"reasons": ["the request is incomplete or malformed, so nothing may be done"],
}

# METADATA
# title: decision
# description: The one entry point; see the package description.
# entrypoint: true
decision := {
	"allow": _allowed,
	"categories": [],
	"withheld": [],
	"withheld_fields": {},
	"obligations": _obligations,
	"reasons": sort([r | some r in _reasons]),
} if {
	_well_formed
}

_well_formed if {
	is_string(input.requester.org_id)
	is_string(input.requester.org_kind)
	is_string(input.requester.role)
	is_string(input.holder.org_id)
	is_string(input.holder.org_kind)
	is_string(input.purpose)
	is_string(input.action)
	is_string(input.category)
	_subject_well_formed
	_urgency_well_formed
	_contact_well_formed
	_emergency_well_formed
}

_subject_well_formed if not "subject_id" in object.keys(input)

_subject_well_formed if is_null(input.subject_id)

_subject_well_formed if is_string(input.subject_id)

# A referral must say how urgent it is, in one of the urgencies the data
# defines; any other act may leave it out, but never give one that is undefined.
_urgency_known if {
	is_string(input.urgency)
	_urgencies[input.urgency]
}

_urgency_well_formed if _urgency_known

_urgency_well_formed if {
	input.action != "refer"
	object.get(input, "urgency", null) == null
}

_contact_well_formed if not "contact_details" in object.keys(input)

_contact_well_formed if is_boolean(input.contact_details)

_emergency_well_formed if object.get(input, "emergency", null) == null

_emergency_well_formed if {
	is_object(input.emergency)
	is_string(input.emergency.basis)
}

_action := data.act.actions[input.action]

_role_may if input.requester.role in _action.roles

# The agreement entries that cover this act (a list: more than one may).
_covering := [a |
	some a in data.act.agreements[input.holder.org_kind][input.requester.org_kind]
	input.action in a.actions
	input.purpose in a.purposes
	input.category in a.categories
]

_agreed if count(_covering) > 0

_consent_valid if input.consent.valid == true

_consented_categories := {c |
	_consent_valid
	some p in input.consent.provisions
	p.purposes[_] == input.purpose
	p.recipients[_] == input.requester.org_id
	p.actions[_] == _action.consent_action
	some c in p.categories
}

_consents_to(category) if category in _consented_categories

# A wildcard provision covers only ordinary categories (UK GDPR Art. 9(2)(a)).
_consents_to(category) if {
	"*" in _consented_categories
	_categories[category].special == false
}

_consented if _consents_to(input.category)

_special if _categories[input.category].special == true

_by_consent if {
	_role_may
	_agreed
	_consented
}

# Emergency path.
_emergency_asked if is_object(input.emergency)

_emergency_role if data.taxonomy.roles[input.requester.role].emergency_access == true

_emergency_action if input.action in _emergency.actions

# One definition of what each legal basis covers: the sharing policy's. The
# acting data only says which of those bases may be used to act.
_emergency_basis := data.share.emergency.bases[input.emergency.basis] if {
	input.emergency.basis in _emergency.bases
}

_emergency_purpose if input.purpose in _emergency_basis.purposes

_emergency_kind if input.requester.org_kind in _emergency_basis.requester_kinds

# Consent is bypassed only because the person cannot be asked in time: a
# routine referral waits for consent.
_emergency_urgency if input.urgency in _emergency.urgencies

_justified if {
	is_string(input.emergency.justification)
	count(trim_space(input.emergency.justification)) >= _emergency.min_justification_chars
}

_emergency_granted if {
	_emergency_asked
	_emergency_action
	_emergency_role
	_emergency_basis
	_emergency_purpose
	_emergency_kind
	_emergency_urgency
	_justified
	_agreed
}

_on_emergency_path if {
	not _by_consent
	_emergency_granted
}

default _allowed := false

_allowed if _by_consent

_allowed if _emergency_granted

# Contact details: the agreement must say so, and consent (or the emergency
# basis) must cover them, as if they were shared.
_contact_asked if input.contact_details == true

_contact_agreed if {
	some a in _covering
	a.contact_details == true
}

_contact_covered if {
	_by_consent
	_consents_to("contact_details")
}

_contact_covered if {
	_on_emergency_path
	"contact_details" in _emergency_basis.categories
}

_receive_contact if {
	_allowed
	_contact_asked
	_contact_agreed
	_contact_covered
}

_obligations := sort([o |
	some o in array.concat(_emergency_obligations, _contact_obligations)
])

default _emergency_obligations := []

_emergency_obligations := ["flag_emergency", "notify_customer"] if _on_emergency_path

default _contact_obligations := []

_contact_obligations := ["receive_contact_details"] if _receive_contact

_reasons contains r if {
	_by_consent
	r := concat("", [input.action, " allowed with the customer's consent under an agreement"])
}

_reasons contains r if {
	_on_emergency_path
	r := concat("", [
		input.action, " allowed on the emergency path (", input.emergency.basis,
		"): the access is flagged and the customer will be told",
	])
}

_reasons contains "this action is not one a partner may ask for" if not _action

_reasons contains r if {
	_action
	not _role_may
	r := concat("", ["the role ", input.requester.role, " may not ", input.action])
}

_reasons contains "no agreement covers this action, purpose and category between these organisations" if {
	not _agreed
}

_reasons contains "the consent token is not valid" if {
	not _allowed
	not _consent_valid
}

_reasons contains r if {
	not _allowed
	_consent_valid
	_action
	not _consented
	r := concat("", ["the customer has not consented to ", _action.consent_action, " for this purpose and category"])
}

_reasons contains r if {
	not _allowed
	_consent_valid
	_special
	not _consented
	"*" in _consented_categories
	r := concat("", [input.category, " is special category data: a general consent does not cover it, the consent must name it"])
}

# Why the emergency path was refused, one reason for each test it failed.
_reasons contains r if {
	_emergency_asked
	not _emergency_action
	r := concat("", ["emergency path refused: ", input.action, " may not use it"])
}

_reasons contains r if {
	_emergency_asked
	not _emergency_role
	r := concat("", ["emergency path refused: the role ", input.requester.role, " may not use it"])
}

_reasons contains "emergency path refused: the basis is not one the agreements recognise for acting" if {
	_emergency_asked
	not _emergency_basis
}

_reasons contains "emergency path refused: this basis does not cover the purpose asked for" if {
	_emergency_asked
	_emergency_basis
	not _emergency_purpose
}

_reasons contains "emergency path refused: this kind of organisation may not use this basis" if {
	_emergency_asked
	_emergency_basis
	not _emergency_kind
}

_reasons contains "emergency path refused: a routine referral must wait for the person's consent" if {
	_emergency_asked
	not _emergency_urgency
}

_reasons contains r if {
	_emergency_asked
	not _justified
	r := sprintf("emergency path refused: a written justification of at least %d characters is required", [_emergency.min_justification_chars])
}

# Told to the sender of an allowed referral that carried contact details the
# receiver may not open, so the sender knows to complete them another way.
_reasons contains "contact details may not be opened: no agreement between these organisations covers passing them on" if {
	_allowed
	_contact_asked
	not _contact_agreed
}

_reasons contains "contact details may not be opened: the customer has not consented to them being passed on" if {
	_allowed
	_contact_asked
	_contact_agreed
	not _contact_covered
}
