"""Masks: the forms in which personal data may be shown to those who need only a hint."""


def mask_name(name: str) -> str:
    """王秀英 → 王*英, 李明 → 李*: enough for an official to tell lines apart."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
