# METADATA
# title: Audit reading decision
# description: |
#   Decides who may read which entries of a node's audit log, and returns the
#   scope the node must filter by. An auditor of the node's own organisation
#   reads that organisation's log (scope org_id); a customer reads only entries
#   about themselves (scope subject_id); an auditor at a partner node may trace
#   one request across the federation (scope request_id) but never browse by
#   subject. Everyone else is refused.
#
# Input: reader: {kind: "staff" | "customer" | "partner", org_id, role, subject_id},
#   node: {org_id}, query: {subject_id, request_id}.
# Output: {allow, scope, reasons}; scope is the filter the node must apply.
package joinedup.audit

import rego.v1

default decision := {
	"allow": false,
	"categories": [],
	"withheld": [],
	"withheld_fields": {},
	"obligations": [],
	"reasons": ["the request is incomplete or malformed, so no audit entries may be read"],
	"scope": {},
}

# METADATA
# title: decision
# description: The one entry point; see the package description.
# entrypoint: true
decision := {
	"allow": true,
	"categories": [],
	"withheld": [],
	"withheld_fields": {},
	"obligations": [],
	"reasons": [_grant.reason],
	"scope": _grant.scope,
} if {
	_well_formed
	_grant
}

decision := {
	"allow": false,
	"categories": [],
	"withheld": [],
	"withheld_fields": {},
	"obligations": [],
	"reasons": [_refusal],
	"scope": {},
} if {
	_well_formed
	not _grant
}

_well_formed if {
	is_string(input.reader.kind)
	is_string(input.node.org_id)
	is_object(input.query)
}

_non_empty(s) if {
	is_string(s)
	count(trim_space(s)) > 0
}

_query_subject := object.get(input.query, "subject_id", null)

_query_request := object.get(input.query, "request_id", null)

_grant := {
	"scope": {"org_id": input.node.org_id},
	"reason": "an auditor of this organisation may read its audit log",
} if {
	input.reader.kind == "staff"
	input.reader.org_id == input.node.org_id
	input.reader.role in data.audit.staff_reader_roles
}

_grant := {
	"scope": {"subject_id": input.reader.subject_id},
	"reason": "a customer may read the entries about themselves",
} if {
	input.reader.kind == "customer"
	_non_empty(input.reader.subject_id)
	_own_subject
}

_grant := {
	"scope": {"request_id": _query_request},
	"reason": "a partner's auditor may trace one request across the federation",
} if {
	input.reader.kind == "partner"
	_non_empty(input.reader.org_id)
	input.reader.org_id != input.node.org_id
	input.reader.role in data.audit.partner_trace_roles
	_query_subject == null
	_non_empty(_query_request)
	count(_query_request) >= data.audit.min_request_id_chars
}

_own_subject if _query_subject == null

_own_subject if _query_subject == input.reader.subject_id

_refusal := "a staff member may read audit entries only as an auditor of this organisation" if {
	input.reader.kind == "staff"
} else := "a customer may read only the entries about themselves" if {
	input.reader.kind == "customer"
} else := "a partner may only trace a single request id, as an auditor" if {
	input.reader.kind == "partner"
} else := "unknown kind of reader"
