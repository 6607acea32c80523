from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["id", "username", "email", "time_zone", "language", "is_staff", "last_login"]
    list_filter = ["is_staff", "is_active", "language"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Preferences"), {"fields": ["time_zone", "language", "subject_template"]}),
    ]
