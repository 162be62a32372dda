from django.apps import AppConfig


class NumbersConfig(AppConfig):
    # The folder cannot be called ``numbers``: that would shadow Python's own ``numbers``
    # module (imported by ``decimal``) for everything run from the project root.
    name = "virtual_numbers"
    label = "numbers"
    verbose_name = "Virtual numbers"
