"""Imports every model module so metadata (and Alembic) sees all tables."""

from webapp.api import idempotency as api_idempotency  # noqa: F401
from webapp.api import models as api_models  # noqa: F401
from webapp.auth import models as auth_models  # noqa: F401
from webapp.availability import models as availability_models  # noqa: F401
from webapp.booking import models as booking_models  # noqa: F401
from webapp.calendars import models as calendar_models  # noqa: F401
from webapp.conferencing import models as conferencing_models  # noqa: F401
from webapp.delivery import models as delivery_models  # noqa: F401
from webapp.mail import models as mail_models  # noqa: F401
from webapp.meetings import models as meeting_models  # noqa: F401
from webapp.notifications import models as notification_models  # noqa: F401
from webapp.records import models as record_models  # noqa: F401
from webapp.rotations import models as rotation_models  # noqa: F401
from webapp.scheduling_pages import models as scheduling_page_models  # noqa: F401
