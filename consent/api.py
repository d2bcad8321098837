"""Every router of the consent service, assembled in one place (as Dispatch does)."""

from fastapi import APIRouter

from appkit.site import site_router
from consent.consents.router import router as consents_router
from consent.customers.router import router as customers_router
from consent.notices.router import router as notices_router
from consent.portal.router import router as portal_router
from consent.subjects.router import router as subjects_router
from consent.tokens.router import router as tokens_router

api_router = APIRouter()
api_router.include_router(subjects_router)
api_router.include_router(tokens_router)
api_router.include_router(consents_router)
api_router.include_router(customers_router)
api_router.include_router(notices_router)
api_router.include_router(portal_router)
# `/` (to the customer portal), the favicon and the character-count script.
api_router.include_router(site_router(home="/portal/"))
