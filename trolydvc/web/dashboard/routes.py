"""The dashboard's pages under /quan-tri (an APIRouter the web app includes; it needs the app's
SessionMiddleware). Every page but the login page needs a logged-in account; every POST carries
the CSRF token; every official action is written to the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

import trolydvc.web.dashboard.analytics as analytics
import trolydvc.web.dashboard.audit as audit
import trolydvc.web.dashboard.broadcasts as broadcasts
import trolydvc.web.dashboard.desk as desk
import trolydvc.web.dashboard.reports as reports
from bot import broadcast_store
from trolydvc import config
from trolydvc.formatting import fmt_int, fmt_ratio
from trolydvc.tracking import follow
from trolydvc.tracking.stats import parse_period_text
from trolydvc.vietnam_time import VN_TZ
from trolydvc.web.dashboard.accounts import Account, LoginResult, authenticate
from trolydvc.web.dashboard.auth import (
    CSRF_FIELD,
    PREFIX,
    check_csrf,
    client_address,
    csrf_token,
    current_account,
    end_session,
    start_session,
)

FLASH_KEY = "quan_tri_flash"
# Pages with officials' data: never cached, never framed (clickjacking), no scripts at all.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
}

router = APIRouter(prefix=PREFIX)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["so"] = fmt_int
templates.env.filters["gio"] = lambda d: d.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if d else ""
templates.env.globals.update(prefix=PREFIX, csrf_field=CSRF_FIELD, ratio=fmt_ratio)

LoggedIn = Annotated[Account, Depends(current_account)]
Csrf = Depends(check_csrf)


def _flash(request: Request, kind: str, text: str) -> None:
    request.session[FLASH_KEY] = [kind, text]


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = HTMLResponse("")
    token = csrf_token(request, response)
    flash = request.session.pop(FLASH_KEY, None)
    page = templates.TemplateResponse(
        request, name, {**context, "csrf_token": token, "flash": flash}, status_code=status_code
    )
    for cookie in response.headers.getlist("set-cookie"):
        page.headers.append("set-cookie", cookie)
    page.headers.update(SECURITY_HEADERS)
    return page


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(PREFIX + path, status_code=303)


# ---- login -------------------------------------------------------------------------------------
@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return _see("/thong-ke")


@router.get("/dang-nhap", response_class=HTMLResponse)
def login_page(request: Request, het_han: int = 0) -> HTMLResponse:
    message = "Phiên làm việc đã hết hạn. Bạn hãy đăng nhập lại." if het_han else None
    return _render(request, "login.html", {"message": message, "username": ""})


@router.post("/dang-nhap", dependencies=[Csrf], response_model=None)
async def login(
    request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
) -> Response:
    result, account = await run_in_threadpool(
        authenticate, username, password, client_address(request)
    )
    if result is LoginResult.OK and account is not None:
        start_session(request, account)
        return _see("/thong-ke")
    message = (
        "Bạn đã nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút."
        if result is LoginResult.LIMITED
        else "Tên đăng nhập hoặc mật khẩu không đúng."
    )
    status = 429 if result is LoginResult.LIMITED else 401
    return _render(request, "login.html", {"message": message, "username": username[:64]}, status)


@router.post("/dang-xuat", dependencies=[Csrf])
async def logout(request: Request, account: LoggedIn) -> RedirectResponse:
    await run_in_threadpool(audit.record, "logout", account=account, client=client_address(request))
    end_session(request)
    return _see("/dang-nhap")


# ---- statistics --------------------------------------------------------------------------------
@router.get("/thong-ke", response_class=HTMLResponse)
def stats_page(
    request: Request, account: LoggedIn, ky: str = "", co_quan: str = ""
) -> HTMLResponse:
    context: dict[str, Any] = {
        "account": account,
        "ky": ky,
        "co_quan": co_quan,
        "agencies": reports.agencies(),
        "error": None,
        "report": None,
    }
    try:
        report = reports.build_report(ky, co_quan)
    except ValueError as exc:
        context["error"] = f"Không hiểu kỳ báo cáo: {exc}"
        return _render(request, "stats.html", context, 400)
    audit.record(
        "stats_view",
        account=account,
        client=client_address(request),
        detail=f"{report.period.label}; {co_quan or 'tất cả cơ quan'}",
    )
    context.update(
        report=report,
        rows=reports.rows(report),
        bars=reports.chart_bars(report),
        chart_width=reports.CHART_WIDTH,
        row_height=reports.ROW_HEIGHT,
        bar_height=reports.BAR_HEIGHT,
    )
    return _render(request, "stats.html", context)


def _export(request: Request, account: Account, ky: str, co_quan: str, kind: str) -> Response:
    try:
        report = reports.build_report(ky, co_quan)
    except ValueError as exc:
        raise HTTPException(400, f"Không hiểu kỳ báo cáo: {exc}") from None
    if kind == "csv":
        body, media = reports.to_csv(report), "text/csv; charset=utf-8"
    else:
        body = reports.to_xlsx(report)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(
        request,
        account,
        body,
        media,
        reports.export_name(report, kind),
        f"{kind.upper()} {report.period.label}; {co_quan or 'tất cả cơ quan'}",
    )


def _download(
    request: Request, account: Account, body: bytes, media: str, name: str, detail: str
) -> Response:
    """An export, recorded in the audit log, sent as an attachment that is never cached."""
    audit.record("export", account=account, client=client_address(request), detail=detail)
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/thong-ke.csv")
def stats_csv(request: Request, account: LoggedIn, ky: str = "", co_quan: str = "") -> Response:
    return _export(request, account, ky, co_quan, "csv")


@router.get("/thong-ke.xlsx")
def stats_xlsx(request: Request, account: LoggedIn, ky: str = "", co_quan: str = "") -> Response:
    return _export(request, account, ky, co_quan, "xlsx")


# ---- broadcasts --------------------------------------------------------------------------------
def _broadcast_context(account: Account, **extra: Any) -> dict[str, Any]:
    return {
        "account": account,
        "communes": broadcasts.communes(),
        "sizes": broadcasts.audience_sizes(),
        "items": broadcasts.recent(),
        "text": "",
        "audience": "",
        "when": "",
        "error": None,
        **extra,
    }


@router.get("/thong-bao", response_class=HTMLResponse)
def broadcasts_page(request: Request, account: LoggedIn) -> HTMLResponse:
    context = _broadcast_context(account)
    # While a broadcast waits or sends, the page reloads itself to show the progress (no script).
    context["refresh"] = any(b.status in ("scheduled", "sending") for b in context["items"])
    return _render(request, "broadcasts.html", context)


@router.post("/thong-bao", dependencies=[Csrf], response_model=None)
def broadcast_create(
    request: Request,
    account: LoggedIn,
    text: Annotated[str, Form()] = "",
    audience: Annotated[str, Form()] = "",
    when: Annotated[str, Form()] = "",
) -> Response:
    try:
        broadcast_id = broadcasts.create(text, audience, when)
    except ValueError as exc:
        context = _broadcast_context(
            account, text=text, audience=audience, when=when, error=str(exc)
        )
        return _render(request, "broadcasts.html", context, 400)
    audit.record(
        "broadcast",
        account=account,
        client=client_address(request),
        detail=f"#{broadcast_id}; {audience or 'tất cả'}; {when or 'gửi ngay'}",
    )
    _flash(request, "ok", f"Đã tạo thông báo #{broadcast_id}; bot sẽ gửi theo lịch.")
    return _see("/thong-bao")


@router.post("/thong-bao/{broadcast_id}/huy", dependencies=[Csrf])
def broadcast_cancel(request: Request, account: LoggedIn, broadcast_id: int) -> RedirectResponse:
    if broadcast_store.cancel_broadcast(broadcast_id):
        audit.record(
            "broadcast_cancel",
            account=account,
            client=client_address(request),
            detail=f"#{broadcast_id}",
        )
        _flash(request, "ok", f"Đã hủy thông báo #{broadcast_id}.")
    else:
        _flash(request, "error", f"Thông báo #{broadcast_id} đã bắt đầu gửi hoặc không còn.")
    return _see("/thong-bao")


# ---- handoff desk ------------------------------------------------------------------------------
@router.get("/ho-tro", response_class=HTMLResponse)
def desk_page(request: Request, account: LoggedIn) -> HTMLResponse:
    return _render(request, "desk.html", {"account": account, "cases": desk.open_cases()})


@router.post("/ho-tro/{case_id}/tra-loi", dependencies=[Csrf])
async def desk_answer(
    request: Request, account: LoggedIn, case_id: int, text: Annotated[str, Form()] = ""
) -> RedirectResponse:
    try:
        await desk.answer(case_id, text)
    except (ValueError, desk.AnswerNotSent) as exc:
        _flash(request, "error", str(exc))
        return _see("/ho-tro")
    await run_in_threadpool(
        audit.record,
        "handoff_answer",
        account=account,
        client=client_address(request),
        detail=f"#{case_id}",
    )
    _flash(request, "ok", f"Đã gửi câu trả lời cho yêu cầu #{case_id}.")
    return _see("/ho-tro")


@router.post("/ho-tro/{case_id}/dong", dependencies=[Csrf])
def desk_close(request: Request, account: LoggedIn, case_id: int) -> RedirectResponse:
    try:
        desk.close(case_id)
    except ValueError as exc:
        _flash(request, "error", str(exc))
        return _see("/ho-tro")
    audit.record(
        "handoff_close", account=account, client=client_address(request), detail=f"#{case_id}"
    )
    _flash(request, "ok", f"Đã đóng yêu cầu #{case_id}.")
    return _see("/ho-tro")


# ---- analytics ---------------------------------------------------------------------------------
@router.get("/phan-tich", response_class=HTMLResponse)
def analytics_page(request: Request, account: LoggedIn, ky: str = "tháng này") -> HTMLResponse:
    context: dict[str, Any] = {
        "account": account,
        "ky": ky,
        "data": None,
        "error": None,
        "outcomes": analytics.OUTCOME_LABELS,
        "channels": analytics.CHANNEL_LABELS,
        "retention_days": config.settings().conversation_retention_days,
        # following is a state, not a period's figure: what `trolydvc follow stats` prints
        "follow": follow.stats(),
    }
    try:
        context["data"] = analytics.compute(parse_period_text(ky))
    except ValueError as exc:
        context["error"] = f"Không hiểu kỳ: {exc}"
        return _render(request, "analytics.html", context, 400)
    return _render(request, "analytics.html", context)


def _unanswered_export(request: Request, account: Account, ky: str, kind: str) -> Response:
    try:
        period = parse_period_text(ky)
    except ValueError as exc:
        raise HTTPException(400, f"Không hiểu kỳ: {exc}") from None
    items = analytics.unanswered(period)
    if kind == "csv":
        body: bytes = analytics.unanswered_csv(period, items)
        media = "text/csv; charset=utf-8"
    else:
        body = analytics.unanswered_nlu_yaml(period, items).encode("utf-8")
        media = "application/yaml; charset=utf-8"
    return _download(
        request,
        account,
        body,
        media,
        analytics.export_name(period, kind),
        f"{kind.upper()} câu chưa hiểu {period.label}; {len(items)} câu",
    )


@router.get("/phan-tich/cau-chua-hieu.csv")
def unanswered_csv(request: Request, account: LoggedIn, ky: str = "tháng này") -> Response:
    return _unanswered_export(request, account, ky, "csv")


@router.get("/phan-tich/cau-chua-hieu.yml")
def unanswered_yaml(request: Request, account: LoggedIn, ky: str = "tháng này") -> Response:
    return _unanswered_export(request, account, ky, "yml")


# ---- audit log ---------------------------------------------------------------------------------
@router.get("/nhat-ky", response_class=HTMLResponse)
def audit_page(request: Request, account: LoggedIn) -> HTMLResponse:
    if account.role != "admin":
        raise HTTPException(403, "Chỉ quản trị viên xem được nhật ký.")
    return _render(request, "audit.html", {"account": account, "entries": audit.recent()})
