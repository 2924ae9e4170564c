"""Vietnam's time zone, the one constant every part of the project uses for local time.

One-stop-shop exports, dossier dates, reporting periods and scheduled announcements are all in
Vietnam wall-clock time. A fixed UTC+7 offset is exact: Vietnam has kept UTC+7 without daylight
saving since 1975, and a fixed offset needs no tz database on the host.
"""

from __future__ import annotations

from datetime import timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
