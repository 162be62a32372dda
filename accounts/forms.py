from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone


class IssueTokenForm(forms.Form):
    user = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True).order_by("username"))
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'CRM sync'.")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, help_text="Leave empty for a token that does not expire."
    )

    def expires_at(self):  # type: ignore[no-untyped-def]
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None
