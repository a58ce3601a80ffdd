"""Which URLs may be shown to members (url_problem), and when two URLs are the same resource (normalize_url)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.core.urls import MAX_URL_LENGTH, TRACKING_PARAMETERS, normalize_url, url_problem

# -- url_problem --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://docs.feast.dev/",
    "http://example.com",
    "https://example.com:8443/a/b?x=1&y=2#part",
    "https://bücher.de/katalog",
    "https://xn--bcher-kva.de/",
    "https://de.wikipedia.org/wiki/Straße",
    "https://papers.nips.cc/paper/2015/file/86df7dcfd896fcaf2674f757a2463eba-Paper.pdf",
    "https://1.2.3.4/x",
    "https://example.com/" + "a" * (MAX_URL_LENGTH - len("https://example.com/")),
])
def test_an_absolute_http_url_to_a_named_host_is_fine(url):
    assert url_problem(url) is None


@pytest.mark.parametrize(("url", "expected"), [
    (None, "must be a non-empty http(s) URL"),
    ("   ", "must be a non-empty http(s) URL"),
    ("https://example.com/" + "a" * MAX_URL_LENGTH, "is 2,020 characters long; a link may have at most 2,000"),
    ("javascript:alert(1)", "'javascript:alert(1)' is not an http(s) URL"),
    ("ftp://example.com/x", "'ftp://example.com/x' is not an http(s) URL"),
    ("/relative/path", "'/relative/path' is not an http(s) URL"),
    ("https://", "'https://' has no valid host"),
    ("https://localhost/", "'https://localhost/' has no valid host"),
    ("https://-example.com/", "'https://-example.com/' has no valid host"),
    ("https://example..com/", "'https://example..com/' has no valid host"),
    ("https://example.com:99999/", "'https://example.com:99999/' has an invalid port"),
    ("https://example.com:http/", "'https://example.com:http/' has an invalid port"),
    ("https://exa mple.com", "'https://exa mple.com' contains spaces, quotes, '<' or '>'"),
    ('https://example.com/"onmouseover', "contains spaces, quotes, '<' or '>'"),
    ("https://example.com/<b>", "contains spaces, quotes, '<' or '>'"),
    ("https://example.com/a|b>", "contains spaces, quotes, '<' or '>'"),
    ("https://[::1", "is not a valid URL"),
    ("https://user@example.com/x",
     "'https://example.com/x' contains a user name or password before its host; please remove it"),
])
def test_a_url_that_may_not_be_shown_says_why(url, expected):
    assert expected in (url_problem(url) or "")


INVISIBLE = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
             "\u200e", "\u200f", "\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad", "\x00", "\x1b"]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
@pytest.mark.parametrize("template", ["https://exa{}mple.com/", "https://example.com/docs{}/moc.elgoog"])
def test_an_invisible_or_bidirectional_character_is_refused_without_repeating_it(char, template):
    problem = url_problem(template.format(char))
    assert problem == (f"contains an invisible or control character (U+{ord(char):04X}), which can disguise "
                       "where a link leads; please type the address again")


secrets = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$;=~"),
                  min_size=8, max_size=20)


@settings(max_examples=200)
@given(user=secrets, password=secrets, tail=st.sampled_from(["/", "/docs", "/a b", "/\u202e", ":99999/", "/\"x"]))
def test_a_refused_url_never_repeats_its_password(user, password, tail):
    for url in (f"https://{user}:{password}@example.com{tail}", f"https://{password}@example.com{tail}"):
        problem = url_problem(url)
        assert problem is not None
        assert password not in problem


def test_a_url_with_user_info_is_shown_without_it():
    assert url_problem("https://alice:hunter22@example.com/page") == (
        "'https://example.com/page' contains a user name or password before its host; please remove it")


# -- normalize_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [
    ("https://docs.feast.dev/", "http://www.docs.feast.dev"),
    ("https://Example.COM/a", "https://example.com/a"),
    ("https://example.com:443/a", "http://example.com:80/a"),
    ("https://example.com/a/", "https://example.com/a"),
    ("https://example.com/a#intro", "https://example.com/a"),
    ("https://example.com/a?utm_source=x&utm_medium=y&utm_whatever=z", "https://example.com/a"),
    ("https://example.com/a?fbclid=1&gclid=2&dclid=3&msclkid=4&mc_cid=5&mc_eid=6", "https://example.com/a"),
    ("https://example.com/a?ref=hn&ref_src=twsrc&igshid=1&si=2&yclid=3&_hsenc=4&_hsmi=5&spm=6",
     "https://example.com/a"),
    ("https://example.com/a?UTM_Source=x", "https://example.com/a"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?b=2&utm_source=x&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/%7euser", "https://example.com/~user"),
    ("https://example.com/a%2fb", "https://example.com/a%2Fb"),
    ("https://example.com/über", "https://example.com/%C3%BCber"),
    ("https://bücher.de/", "https://xn--bcher-kva.de/"),
    ("https://BÜCHER.de/", "https://bücher.de/"),
    ("https://example.com./a", "https://example.com/a"),
    ("https://alice@example.com/a", "https://example.com/a"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("www.example.com/a", "https://example.com/a"),
    ("  https://example.com/a  ", "https://example.com/a"),
])
def test_two_urls_for_the_same_resource_have_one_key(a, b):
    assert normalize_url(a) == normalize_url(b)


@pytest.mark.parametrize(("a", "b"), [
    ("https://example.com/a", "https://example.com/b"),
    ("https://example.com/Docs", "https://example.com/docs"),  # paths are case-sensitive
    ("https://example.com/a", "https://other.com/a"),
    ("https://example.com/a", "https://example.com:8080/a"),
    ("https://example.com/a?page=1", "https://example.com/a?page=2"),
    ("https://example.com/a?x=1&x=2", "https://example.com/a?x=2&x=1"),  # a repeated parameter is a list
    ("https://example.com/a%2Fb", "https://example.com/a/b"),  # an escaped `/` is not a separator
    ("https://example.com/a+b", "https://example.com/a%2Bb"),
    ("https://www2.example.com/", "https://example.com/"),
    ("https://example.com/a?q=a+b", "https://example.com/a?q=a%2Bb"),
])
def test_urls_for_different_resources_have_different_keys(a, b):
    assert normalize_url(a) != normalize_url(b)


@pytest.mark.parametrize("url", ["https://example.com:99999/", "https://example.com:abc/x", "http://[bad", "https://[::1",
                                 "", "   ", "mailto:someone@example.com", "javascript:alert(1)", "%", "//", "http://",
                                 "https://exa mple.com/\u202e", "https://\udcff.com/", "https://ex%ample.com/%zz"])
def test_a_string_that_is_not_a_good_url_still_gets_a_key(url):
    key = normalize_url(url)
    assert isinstance(key, str)
    assert normalize_url(url) == key


@settings(max_examples=500)
@given(st.text())
def test_normalize_url_never_raises(text):
    assert isinstance(normalize_url(text), str)
    assert isinstance(normalize_url("https://" + text), str)
    assert isinstance(normalize_url("https://example.com/" + text), str)


# Hypothesis URLs: canonical parts (a lowercase host without www., a path without dot segments or
# a trailing slash, non-tracking parameters) that the properties then dress up.
label = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"), min_size=1, max_size=8)
hosts = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(label, min_size=1, max_size=3),
                  st.sampled_from(["com", "org", "dev", "io"])).filter(lambda h: not h.startswith("www."))
segment = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~"),
                  min_size=1, max_size=8)
paths = st.lists(segment, max_size=4).map(lambda segments: "".join(f"/{s}" for s in segments))
param_names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=6).filter(
    lambda name: name not in TRACKING_PARAMETERS and not name.startswith("utm_"))
queries = st.dictionaries(param_names, st.text(st.sampled_from("abcdefXYZ0123-"), max_size=6), max_size=4).map(
    lambda params: "&".join(f"{k}={v}" for k, v in params.items()))
tracking = st.lists(st.one_of(st.sampled_from(sorted(TRACKING_PARAMETERS)),
                              st.builds(lambda s: f"utm_{s}", st.text("abcdefghijklmnopqrstuvwxyz_", max_size=8))),
                    min_size=1, max_size=4)


def url_of(scheme: str, host: str, path: str, query: str, fragment: str = "") -> str:
    return f"{scheme}://{host}{path}{'?' + query if query else ''}{'#' + fragment if fragment else ''}"


@settings(max_examples=300)
@given(host=hosts, path=paths, query=queries, added=tracking, data=st.data(), www=st.booleans(),
       slash=st.booleans(), fragment=st.text(max_size=10), scheme=st.sampled_from(["http", "https", "HTTPS"]),
       upper=st.lists(st.booleans(), min_size=30, max_size=30))
def test_tracking_www_a_trailing_slash_a_fragment_the_scheme_and_host_case_never_change_the_key(
        host, path, query, added, data, www, slash, fragment, scheme, upper):
    plain = normalize_url(url_of("https", host, path, query))
    params = [p for p in query.split("&") if p]
    for name in added:
        params.insert(data.draw(st.integers(0, len(params))), f"{name}={data.draw(label)}")
    dressed_host = "".join(c.upper() if up else c for c, up in zip(host, upper, strict=False)) + host[len(upper):]
    dressed = url_of(scheme, ("www." if www else "") + dressed_host, path + ("/" if slash else ""),
                     "&".join(params), fragment)
    assert normalize_url(dressed) == plain


@settings(max_examples=300)
@given(host=hosts, a=paths, b=paths, query=queries)
def test_two_different_paths_on_one_host_never_collide(host, a, b, query):
    assume(a != b)
    assert normalize_url(url_of("https", host, a, query)) != normalize_url(url_of("https", host, b, query))


messy_paths = st.lists(st.one_of(segment, st.sampled_from([".", "..", "%7e", "%2f", "%41", "über", "a b", "%", ""])),
                       max_size=5).map(lambda segments: "".join(f"/{s}" for s in segments))


@settings(max_examples=300)
@given(host=st.one_of(hosts, st.sampled_from(["bücher.de", "WWW.Example.COM", "[::1]", "example.com:8080"])),
       path=messy_paths, query=queries, added=st.lists(st.sampled_from(["utm_x=1", "ref=a", "%75tm_y=2", "b=%7e"])),
       fragment=st.text(max_size=5))
def test_normalize_url_is_idempotent_on_its_own_output(host, path, query, added, fragment):
    key = normalize_url(url_of("https", host, path, "&".join([query, *added]), fragment))
    assert normalize_url(key) == key
