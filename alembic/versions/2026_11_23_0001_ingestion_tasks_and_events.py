"""Ingestion tasks and their event history.

Revision ID: 20261123_0001
Revises:
Create Date: 2026-11-23 07:06:52.244672
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '20261123_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ingestion_tasks',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('datasource', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_format', sa.String(length=16), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=512), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('rows_read', sa.BigInteger(), nullable=True),
    sa.Column('rows_valid', sa.BigInteger(), nullable=True),
    sa.Column('rows_rejected', sa.BigInteger(), nullable=True),
    sa.Column('dataset_key', sa.String(length=512), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('druid_spec', sa.JSON(), nullable=True),
    sa.Column('druid_task_id', sa.String(length=255), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingestion_tasks'))
    )
    with op.batch_alter_table('ingestion_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_ingestion_tasks_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_ingestion_tasks_datasource_sha256', ['datasource', 'sha256'], unique=False)
        batch_op.create_index('ix_ingestion_tasks_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('ingestion_task_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('task_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['ingestion_tasks.id'], name=op.f('fk_ingestion_task_events_task_id_ingestion_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingestion_task_events'))
    )
    with op.batch_alter_table('ingestion_task_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingestion_task_events_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ingestion_task_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingestion_task_events_task_id'))

    op.drop_table('ingestion_task_events')
    with op.batch_alter_table('ingestion_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_ingestion_tasks_status_created_at')
        batch_op.drop_index('ix_ingestion_tasks_datasource_sha256')
        batch_op.drop_index('ix_ingestion_tasks_created_at')

    op.drop_table('ingestion_tasks')
