# METADATA
# title: Aggregate evidence decision
# description: |
#   Decides, at the node asked to count and at the node asking, whether a staff
#   member may have an evidence question answered from the federation's records.
#   Only aggregate counts ever leave a node (secure summation, then disclosure
#   control on the totals), so the rule is about who asks and why, never about a
#   person: the requester must be a member organisation (its kind is in the
#   taxonomy), the staff role must be one the federation lets ask
#   (data.aggregate.roles), the question must be one the federation has agreed to
#   answer (data.aggregate.questions) and computable here (question_available),
#   and the purpose must be one agreed for that question.
#
# Input: requester {org_id, org_kind, role, staff}, holder {org_id, org_kind},
#   purpose, question, question_available (boolean, from the node's catalogue).
# Output: {allow, obligations, reasons} (categories and withheld stay empty).
package joinedup.aggregate

import rego.v1

default decision := {
	"allow": false,
	"categories": [],
	"withheld": [],
	"withheld_fields": {},
	"obligations": [],
	"reasons": ["the request is incomplete or malformed, so no evidence may be given"],
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
	"obligations": [],
	"reasons": sort([r | some r in _reasons]),
} if {
	_well_formed
}

_well_formed if {
	is_string(input.requester.org_id)
	is_string(input.requester.org_kind)
	is_string(input.requester.role)
	is_string(input.holder.org_id)
	is_string(input.purpose)
	is_string(input.question)
	is_boolean(input.question_available)
}

_member if data.taxonomy.org_kinds[input.requester.org_kind]

_role_may if input.requester.role in data.aggregate.roles

_question := data.aggregate.questions[input.question]

_purpose_agreed if input.purpose in _question.purposes

_available if input.question_available == true

default _allowed := false

_allowed if {
	_member
	_role_may
	_question
	_purpose_agreed
	_available
}

_reasons contains r if {
	_allowed
	r := concat("", ["aggregate evidence allowed: ", input.question, " for ", input.purpose])
}

_reasons contains "the requester is not a member organisation of the federation" if not _member

_reasons contains r if {
	not _role_may
	r := concat("", ["the role ", input.requester.role, " may not ask for aggregate evidence"])
}

_reasons contains "the federation has not agreed to answer this question" if not _question

_reasons contains r if {
	_question
	not _purpose_agreed
	r := concat("", ["the purpose ", input.purpose, " is not agreed for this question"])
}

_reasons contains "this question cannot be computed from this node's records yet" if {
	_question
	not _available
}
