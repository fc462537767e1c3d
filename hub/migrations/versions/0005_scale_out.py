"""scale-out: leases on files, documents and outbound files, the lanes a queued document waits in, worker presence

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _lease_columns():
    return [sa.Column('lease_owner', sa.String(length=100), nullable=True),
            sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
            sa.Column('attempts', sa.Integer(), server_default='0', nullable=False)]


def upgrade() -> None:
    with op.batch_alter_table('interchanges', schema=None) as batch_op:
        for column in _lease_columns():
            batch_op.add_column(column)
        batch_op.create_index('ix_interchanges_status', ['status', 'id'], unique=False)
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lanes', sa.Text(), nullable=True))
        for column in _lease_columns():
            batch_op.add_column(column)
        batch_op.create_index('ix_documents_queue', ['state', 'interchange_id', 'position'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'workers',
        sa.Column('id', sa.String(length=100), nullable=False),
        sa.Column('host', sa.String(length=200), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('concurrency', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('done', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('workers')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_queue')
        for name in ('attempts', 'lease_until', 'lease_owner', 'lanes'):
            batch_op.drop_column(name)
    with op.batch_alter_table('interchanges', schema=None) as batch_op:
        batch_op.drop_index('ix_interchanges_status')
        for name in ('attempts', 'lease_until', 'lease_owner'):
            batch_op.drop_column(name)
