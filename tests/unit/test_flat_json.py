"""``bulk.flat_json_encoder`` (issue 16) writes the JSON text ``json.dumps`` writes, to the byte,
for the sync's snapshots (text and nulls), and leaves every other dict to ``json.dumps``."""

import json

from hypothesis import given
from hypothesis import strategies as st

from tasksync.bulk import flat_json_encoder

flat_dicts = st.dictionaries(st.text(), st.one_of(st.none(), st.text()), max_size=8)


@given(st.lists(flat_dicts, max_size=5))
def test_a_dict_of_text_and_nulls_is_encoded_as_json_dumps_encodes_it(dicts):
    encode = flat_json_encoder()  # one encoder for many dicts: its keys' cache is shared
    for value in [*dicts, *dicts]:
        assert encode(value) == json.dumps(value)


@given(
    flat_dicts,
    st.text(),
    st.one_of(
        st.integers(),
        st.booleans(),
        st.floats(),
        st.lists(st.text()),
        st.dictionaries(st.text(), st.text()),
    ),
)
def test_any_other_value_is_left_to_json_dumps(value, key, other):
    encode = flat_json_encoder()
    assert encode({**value, key: other}) is None
    assert encode({1: "one"}) is None
    assert encode({"\u00e9t\u00e9": 'a "quoted"\nline \u2014 \U0001f600'}) == json.dumps(
        {"\u00e9t\u00e9": 'a "quoted"\nline \u2014 \U0001f600'}
    )
