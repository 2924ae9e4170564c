"""The officials' dashboard at /quan-tri (issue #15): ``router`` is the FastAPI APIRouter the web
app includes, after its Starlette ``SessionMiddleware``."""

from trolydvc.web.dashboard.routes import router

__all__ = ["router"]
