"""Every router of the node, assembled in one place (as Dispatch does).

To add a domain: ``from node.<domain>.router import router as <domain>_router`` and
one ``api_router.include_router(...)`` line below.
"""

from fastapi import APIRouter

from appkit.site import site_router
from node.audit.partner_router import router as audit_partner_router
from node.audit.router import router as audit_router
from node.auth.router import router as auth_router
from node.evidence.router import router as evidence_router
from node.guide.partner_router import router as guide_partner_router
from node.guide.router import router as guide_router
from node.links.router import router as links_router
from node.records.router import router as records_router
from node.referrals.partner_router import router as referrals_partner_router
from node.referrals.router import router as referrals_router
from node.revocations.router import router as revocations_router
from node.share.router import router as share_router
from node.views.router import router as views_router
from node.web.provider_sign_in import router as provider_sign_in_router
from node.web.router import router as web_router

api_router = APIRouter()
api_router.include_router(auth_router)
api_router.include_router(records_router)
api_router.include_router(revocations_router)
api_router.include_router(share_router)
api_router.include_router(views_router)
api_router.include_router(links_router)
api_router.include_router(audit_router)
api_router.include_router(referrals_router)
api_router.include_router(referrals_partner_router)
api_router.include_router(web_router)
api_router.include_router(provider_sign_in_router)
api_router.include_router(audit_partner_router)
api_router.include_router(guide_router)
api_router.include_router(guide_partner_router)
api_router.include_router(evidence_router)
# `/` (to the staff pages), the favicon and the character-count script.
api_router.include_router(site_router(home="/ui/"))
