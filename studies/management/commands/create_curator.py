import getpass
import secrets
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Create a curator: a staff user in the Curators group. The password comes from "
        "--password, a prompt, or (when not run interactively) is generated and printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password")

    def handle(self, username, email, password, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user called “{username}” exists already.")
        generated = False
        if password is None and sys.stdin.isatty():
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        elif password is None:
            password, generated = secrets.token_urlsafe(18), True
        user = User(username=username, email=email, is_staff=True)
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        with transaction.atomic():
            user.set_password(password)
            user.save()
            user.groups.add(Group.objects.get(name="Curators"))
        self.stdout.write(f"Created curator “{username}”.")
        if generated:
            self.stdout.write(f"Password: {password}")
