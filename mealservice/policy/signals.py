"""What policy tells the packages above it, which listen without policy knowing them."""

from blinker import Namespace

signals = Namespace()

# A statutory holiday was added, renamed or removed: sent with `day`.
holiday_changed = signals.signal("holiday-changed")

# A new version of a district's policy is about to be created, starting `effective_from`.
# A veto: a receiver that must refuse raises ValidationFailed naming effective_from.
policy_version_starting = signals.signal("policy-version-starting")

# A new version is being previewed: receivers return the recent meals of the district's
# elders as `preview.Sample`s (sent with `since` and `limit`), for the preview to reprice.
preview_samples_wanted = signals.signal("preview-samples-wanted")
