"""incident corrections: needs_completion, incident links, unassigned voicemail

Revision ID: 13a1correct
Revises: 13b1calls
Create Date: 2026-12-06 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '13a1correct'
down_revision = "13b1calls"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_completion', sa.Boolean(),
                                      server_default=sa.text('false'), nullable=False))

    op.create_table('incident_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('duplicate_of', 'related')", name=op.f('ck_incident_link_kind')),
    sa.CheckConstraint('incident_id <> other_id', name=op.f('ck_incident_link_not_self')),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], name=op.f('fk_incident_link_created_by_user')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_link_incident_id_incident')),
    sa.ForeignKeyConstraint(['other_id'], ['incident.id'], name=op.f('fk_incident_link_other_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_link')),
    sa.UniqueConstraint('incident_id', 'other_id', 'kind', name='uq_incident_link')
    )
    with op.batch_alter_table('incident_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_link_other_id'), ['other_id'], unique=False)

    op.create_table('voicemail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('caller', sa.String(length=32), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(), nullable=True),
    sa.Column('assigned_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by'], ['user.id'], name=op.f('fk_voicemail_assigned_by_user')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_voicemail_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voicemail')),
    sa.UniqueConstraint('sid', name=op.f('uq_voicemail_sid'))
    )
    with op.batch_alter_table('voicemail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voicemail_received_at'), ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('voicemail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voicemail_received_at'))

    op.drop_table('voicemail')
    with op.batch_alter_table('incident_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_link_other_id'))

    op.drop_table('incident_link')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('needs_completion')
