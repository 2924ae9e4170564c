"""Bot: in-flight/unknown delivery states and retry times, progress message of a broadcast,
handoff activity time and language, bot_settings.

Revision ID: 0002_bot
Revises: 0001
Create Date: 2026-11-28 11:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002_bot'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_STATUSES = "status IN ('pending', 'sent', 'blocked', 'failed')"
NEW_STATUSES = "status IN ('pending', 'sending', 'sent', 'blocked', 'failed', 'unknown')"


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_deliveries_status'), type_='check')
        batch_op.create_check_constraint('status', NEW_STATUSES)
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unknown_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('progress_chat_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('progress_message_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=False, server_default='vi'))

    with op.batch_alter_table('handoff_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_activity_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=False, server_default='vi'))

    op.create_table('bot_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_bot_settings'))
    )


def downgrade() -> None:
    op.drop_table('bot_settings')
    with op.batch_alter_table('handoff_cases', schema=None) as batch_op:
        batch_op.drop_column('language')
        batch_op.drop_column('last_activity_at')
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_column('language')
        batch_op.drop_column('progress_message_id')
        batch_op.drop_column('progress_chat_id')
        batch_op.drop_column('unknown_count')
    op.execute("DELETE FROM deliveries WHERE status IN ('sending', 'unknown')")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_constraint(op.f('ck_deliveries_status'), type_='check')
        batch_op.create_check_constraint('status', OLD_STATUSES)
