"""Command-line verbs: `flask --app wsgi seed-demo`, `create-user`."""

import click
from flask import Flask, current_app

from mealservice.core.auth import Role
from mealservice.core.errors import ApiError
from mealservice.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user_command)


@click.command("seed-demo")
def seed_demo():
    """Load the demo district (idempotent) and print its logins."""
    from mealservice import demo

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("seed-demo loads known passwords; it never runs in production.")
    logins = demo.seed()
    db.session.commit()
    click.echo("Demo district 杭州市西湖区 (330106) is loaded. Logins:")
    for login in logins:
        click.echo(f"  {login['role']:<9} {login['username']:<10} {login['password']}")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--district", default=None, help="district code, for officials and inspectors")
@click.option("--canteen-id", type=int, default=None, help="for managers, cashiers, volunteers")
@click.option("--elder-id", "elder_ids", type=int, multiple=True, help="for family and elders")
def create_user_command(username, role, password, district, canteen_id, elder_ids):
    """Create an account."""
    from mealservice.accounts.services import create_user

    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    try:
        user = create_user(
            None,
            username=username,
            password=password,
            role=role,
            district=district,
            canteen_id=canteen_id,
            elder_ids=list(elder_ids),
        )
    except ApiError as error:
        db.session.rollback()
        details = "; ".join(f"{f}: {' '.join(r)}" for f, r in (error.fields or {}).items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    db.session.commit()
    click.echo(f"Created {role} {user.username} (id {user.id}).")
