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
#   instead go on the emergency path, with the same justification rules and
#   obligations as sharing.
#
# Input: requester, holder, purpose, subject_id, consent (as for joinedup.share),
#   action: "refer" | "create_action" | "update_plan", category, emergency (optional).
# Output: {allow, obligations, reasons} (categories and withheld stay empty).
package joinedup.act

import rego.v1

_categories := data.taxonomy.categories

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
	is_string(input.holder.org_kind)
	is_string(input.purpose)
	is_string(input.action)
	is_string(input.category)
}

_action := data.act.actions[input.action]

_role_may if input.requester.role in _action.roles

_agreed if {
	some a in data.act.agreements[input.holder.org_kind][input.requester.org_kind]
	input.action in a.actions
	input.purpose in a.purposes
	input.category in a.categories
}

_consent_valid if input.consent.valid == true

_consented_categories := {c |
	_consent_valid
	some p in input.consent.provisions
	p.purposes[_] == input.purpose
	p.recipients[_] == input.requester.org_id
	p.actions[_] == _action.consent_action
	some c in p.categories
}

_consented if input.category in _consented_categories

# A wildcard provision covers only ordinary categories (UK GDPR Art. 9(2)(a)).
_consented if {
	"*" in _consented_categories
	_categories[input.category].special == false
}

_by_consent if {
	_role_may
	_agreed
	_consented
}

_emergency_asked if is_object(input.emergency)

_justified if {
	is_string(input.emergency.justification)
	count(trim_space(input.emergency.justification)) >= data.act.emergency.min_justification_chars
}

_emergency_granted if {
	_emergency_asked
	input.action in data.act.emergency.actions
	input.emergency.basis in data.act.emergency.bases
	data.taxonomy.roles[input.requester.role].emergency_access == true
	_justified
	_agreed
}

default _allowed := false

_allowed if _by_consent

_allowed if _emergency_granted

default _obligations := []

_obligations := ["flag_emergency", "notify_customer"] if {
	not _by_consent
	_emergency_granted
}

_reasons contains r if {
	_by_consent
	r := concat("", [input.action, " allowed with the customer's consent under an agreement"])
}

_reasons contains r if {
	not _by_consent
	_emergency_granted
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

_reasons contains "emergency path refused: role, basis, action or justification does not qualify" if {
	_emergency_asked
	not _emergency_granted
}
