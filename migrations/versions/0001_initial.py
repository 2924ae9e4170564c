"""Initial schema: dossiers, status history and the bot tables.

Instants of the bot tables and created/updated columns are naive UTC (trolydvc.db.base.UTCDateTime);
dossier business times are Vietnam wall-clock times.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 11:05:18.386407

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('dossiers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('procedure_code', sa.String(length=32), nullable=True),
    sa.Column('procedure_name', sa.Text(), nullable=True),
    sa.Column('applicant_name', sa.String(length=255), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('phone_last4', sa.String(length=4), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('agency', sa.String(length=255), nullable=True),
    sa.Column('sector', sa.String(length=255), nullable=True),
    sa.Column('commune', sa.String(length=255), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("channel IN ('direct', 'online', 'postal')", name=op.f('ck_dossiers_channel')),
    sa.CheckConstraint("status IN ('received', 'processing', 'supplement_requested', 'resolved', 'returned', 'rejected', 'withdrawn')", name=op.f('ck_dossiers_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossiers')),
    sa.UniqueConstraint('code', name=op.f('uq_dossiers_code'))
    )
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index('ix_dossiers_agency_received_at', ['agency', 'received_at'], unique=False)
        batch_op.create_index('ix_dossiers_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_dossiers_sector_received_at', ['sector', 'received_at'], unique=False)

    op.create_table('feedback',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sender_id', sa.String(length=128), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('topic', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_feedback_rating')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_sender_id'), ['sender_id'], unique=False)

    op.create_table('officials',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'official')", name=op.f('ck_officials_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officials')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_officials_telegram_user_id'))
    )
    op.create_table('subscribers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('commune', sa.String(length=255), nullable=True),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("language IN ('vi', 'en')", name=op.f('ck_subscribers_language')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribers')),
    sa.UniqueConstraint('chat_id', name=op.f('uq_subscribers_chat_id'))
    )
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscribers_commune'), ['commune'], unique=False)

    op.create_table('broadcasts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('audience_commune', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('total_count', sa.Integer(), nullable=False),
    sa.Column('sent_count', sa.Integer(), nullable=False),
    sa.Column('blocked_count', sa.Integer(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'scheduled', 'sending', 'done', 'cancelled')", name=op.f('ck_broadcasts_status')),
    sa.ForeignKeyConstraint(['author_id'], ['officials.id'], name=op.f('fk_broadcasts_author_id_officials'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcasts_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcasts_status'), ['status'], unique=False)

    op.create_table('dossier_status_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('received', 'processing', 'supplement_requested', 'resolved', 'returned', 'rejected', 'withdrawn')", name=op.f('ck_dossier_status_history_status')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_status_history_dossier_id_dossiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_status_history'))
    )
    with op.batch_alter_table('dossier_status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_status_history_dossier_id'), ['dossier_id'], unique=False)

    op.create_table('handoff_cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_handoff_cases_status')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['officials.id'], name=op.f('fk_handoff_cases_closed_by_id_officials'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_cases'))
    )
    with op.batch_alter_table('handoff_cases', schema=None) as batch_op:
        batch_op.create_index('ix_handoff_cases_chat_status', ['chat_id', 'status'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subscriber_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sent', 'blocked', 'failed')", name=op.f('ck_deliveries_status')),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_deliveries_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name=op.f('fk_deliveries_subscriber_id_subscribers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('broadcast_id', 'chat_id', name='uq_deliveries_broadcast_chat')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_broadcast_status', ['broadcast_id', 'status'], unique=False)

    op.create_table('handoff_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_chat_id', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['handoff_cases.id'], name=op.f('fk_handoff_messages_case_id_handoff_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_messages')),
    sa.UniqueConstraint('group_chat_id', 'message_id', name='uq_handoff_messages_group_message')
    )
    with op.batch_alter_table('handoff_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_messages_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('handoff_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_messages_case_id'))

    op.drop_table('handoff_messages')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_broadcast_status')

    op.drop_table('deliveries')
    with op.batch_alter_table('handoff_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_handoff_cases_chat_status')

    op.drop_table('handoff_cases')
    with op.batch_alter_table('dossier_status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_status_history_dossier_id'))

    op.drop_table('dossier_status_history')
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcasts_status'))
        batch_op.drop_index(batch_op.f('ix_broadcasts_author_id'))

    op.drop_table('broadcasts')
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscribers_commune'))

    op.drop_table('subscribers')
    op.drop_table('officials')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_sender_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_created_at'))

    op.drop_table('feedback')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_sector_received_at')
        batch_op.drop_index('ix_dossiers_received_at')
        batch_op.drop_index('ix_dossiers_agency_received_at')

    op.drop_table('dossiers')
