"""reports: what a file says it holds, units per document, partners' acknowledgments of what we sent

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('interchanges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contents', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_interchanges_received_at'), ['received_at'], unique=False)
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quantity', sa.Integer(), nullable=True))
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postings_at'), ['at'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_control', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('ack_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ack_status', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ack_document_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_outbox_partner_group', ['partner_id', 'group_control'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_partner_group')
        batch_op.drop_column('ack_document_id')
        batch_op.drop_column('acknowledged_at')
        batch_op.drop_column('ack_status')
        batch_op.drop_column('ack_due_at')
        batch_op.drop_column('group_control')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_at'))
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('quantity')
    with op.batch_alter_table('interchanges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interchanges_received_at'))
        batch_op.drop_column('contents')
