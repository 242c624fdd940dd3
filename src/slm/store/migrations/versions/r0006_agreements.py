"""agreements: period statements stored with their inputs (``sla_statements``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_statements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agreement", sa.String(400), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("inputs_sha256", sa.String(64), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("total_credit", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sla_statements"),
        sa.UniqueConstraint(
            "agreement",
            "period",
            "inputs_sha256",
            name="uq_sla_statements_agreement_period_inputs_sha256",
        ),
    )


def downgrade() -> None:
    op.drop_table("sla_statements")
