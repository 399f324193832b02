"""One spelling per tag (gridmap.auth.masking.normalise_tag): what reads as a sensitive tag is the
tag, whatever invisible characters or traditional forms it carries; other tags keep theirs."""

from __future__ import annotations

import pytest

from gridmap.auth.masking import EVERYDAY_TAGS, SENSITIVE_TAGS, TRADITIONAL_SENSITIVE_TAGS, normalise_tag
from gridmap.config import DEFAULT_VISIT_TAGS
from gridmap.demo.residents import TAG_RATES
from gridmap.maps.minqing import CARE_TAGS


@pytest.mark.parametrize(("written", "tag"), [
    ("社区矫正\ufe0f", "社区矫正"),            # variation selector
    ("社\u0300区矫正", "社区矫正"),            # combining mark
    ("社区矫正\x07", "社区矫正"),              # control character
    ("社区矯正", "社区矫正"),                  # half traditional
    ("刑滿释放", "刑满释放"),
    ("戒毒康複", "戒毒康复"),
    ("ＡＢ 独居", "AB独居"),                   # full width and spaces, not a sensitive tag
    ("独居\u3164", "独居"),                     # a Hangul filler prints as nothing
    ("社区矫正\u2800", "社区矫正"),             # the braille blank
    ("刑満釈放", "刑满释放"),                  # Japanese forms
    ("吸毒人貟", "吸毒人员"),
    ("社区矫正人员", "社区矫正"),              # the sensitive words with more around them
    ("(社区矫正)", "社区矫正"),
    ("区矫正", "区矫正"),                      # part of them is not them
])
def test_a_tag_is_read_as_written_without_what_it_never_shows(written, tag):
    assert normalise_tag(written) == tag


def test_every_traditional_sensitive_tag_is_the_tag_and_other_tags_keep_their_characters():
    assert {normalise_tag(t) for t in TRADITIONAL_SENSITIVE_TAGS} == SENSITIVE_TAGS
    assert {normalise_tag(t) for t in SENSITIVE_TAGS} == SENSITIVE_TAGS
    assert normalise_tag("獨居老人") == "獨居老人" and normalise_tag("區域") == "區域"


def test_the_tags_the_product_names_are_everyday_or_sensitive():
    """A grid worker adds them without review (or with the sensitive ones' review): the 五必访 tags,
    the 民情地图's care tags and the demo's tags stay in step with EVERYDAY_TAGS."""
    named = set(DEFAULT_VISIT_TAGS) | CARE_TAGS | set(TAG_RATES)
    assert named - EVERYDAY_TAGS - SENSITIVE_TAGS == set()
    assert not EVERYDAY_TAGS & SENSITIVE_TAGS
    assert {normalise_tag(t) for t in EVERYDAY_TAGS} == EVERYDAY_TAGS
