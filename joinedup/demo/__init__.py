"""The demo federation: five organisations, the consent service and one story.

``scenario.yaml`` is the story as data; ``seed.py`` turns it into records through
the nodes' records API and the consent service; ``launcher.py`` lays the
federation out on disk (via ``joinedup.localfed``), starts it, seeds it once and
reports the URLs and logins. ``joinedup demo`` (``joinedup/demo_cli.py``) and the
demo and browser tests all use the launcher.
"""
