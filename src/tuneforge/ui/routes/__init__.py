"""The dashboard's pages, one router per page group (runs; later registry, monitoring,
labeling, playground, studies), each listed in ``app.ROUTERS`` and ``templating.NAV``."""
