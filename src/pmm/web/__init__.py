"""The web platform: FastAPI, server-rendered pages (readable without JavaScript), /api/v1.

`create_app(Settings(...))` builds the application; `pmm serve` runs it with uvicorn. Every
route's permission is declared once in `pmm.web.permissions.ROUTES` and checked by the access
policy (`pmm.access`) before the route runs.
"""
