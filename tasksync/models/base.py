"""What every tasksync model declares the same way."""


def model_meta(verbose_name, verbose_name_plural, **options) -> type:
    """A model's ``Meta`` in one line: its two names (both given, since a translation's plural is
    not the singular plus "s") and any other option (``ordering``, ``indexes``, ``constraints``).
    Django reads it as it reads a ``class Meta:`` written out."""
    return type(
        "Meta",
        (),
        {"verbose_name": verbose_name, "verbose_name_plural": verbose_name_plural, **options},
    )
