"""Where the spam folder is (mailboxes.py): SPECIAL-USE first, then the names servers give it
without SPECIAL-USE; and folder names in modified UTF-7 (RFC 3501 section 5.1.3)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from interview_mailcheck.mailboxes import (
    Folder,
    all_mail_folder,
    decode_utf7,
    encode_utf7,
    search_order,
    spam_folder,
)


def folders(*specs: tuple[str, str] | str, delimiter: str = "/") -> list[Folder]:
    made = []
    for spec in specs:
        name, attributes = (spec, "") if isinstance(spec, str) else spec
        made.append(Folder(name, frozenset(attributes.split()), delimiter))
    return made


def test_special_use_wins_over_names() -> None:
    listed = folders("INBOX", "Spam", ("Bulk", "\\HasNoChildren \\Junk"), ("Sent", "\\Sent"))
    spam = spam_folder(listed)
    assert spam is not None and spam.name == "Bulk"


def test_attributes_are_compared_without_regard_to_case() -> None:
    spam = spam_folder(folders("INBOX", ("Quarantine", "\\JUNK")))
    assert spam is not None and spam.name == "Quarantine"


def test_gmail_without_special_use() -> None:
    listed = folders("INBOX", "[Gmail]/All Mail", "[Gmail]/Sent Mail", "[Gmail]/Spam", "Spamalot")
    spam = spam_folder(listed)
    assert spam is not None and spam.name == "[Gmail]/Spam"


def test_known_names_without_regard_to_case_and_as_a_last_part() -> None:
    assert (spam_folder(folders("INBOX", "junk e-mail")) or Folder("")).name == "junk e-mail"
    dotted = folders("INBOX", "INBOX.Archive", "INBOX.spam", delimiter=".")
    assert (spam_folder(dotted) or Folder("")).name == "INBOX.spam"
    yahoo = folders("Inbox", "Bulk Mail", "Draft")
    assert (spam_folder(yahoo) or Folder("")).name == "Bulk Mail"


def test_a_whole_name_beats_a_last_part_and_shallow_beats_deep() -> None:
    listed = folders("INBOX", "Projects/Spam", "Junk", "Archive/2020/Junk")
    assert (spam_folder(listed) or Folder("")).name == "Junk"
    deep = folders("INBOX", "a/b/Junk", "c/Spam")
    assert (spam_folder(deep) or Folder("")).name == "c/Spam"


def test_inbox_and_unselectable_folders_are_never_the_spam_folder() -> None:
    assert spam_folder(folders(("INBOX", "\\Junk"), ("Junk", "\\Noselect"))) is None
    assert spam_folder(folders("INBOX", "Sent", "Drafts")) is None
    assert spam_folder([]) is None


def test_localised_outlook_names() -> None:
    names = ["Courrier indésirable", "Junk-E-Mail", "Correo no deseado"]
    for name in names:
        found = spam_folder([Folder("INBOX"), Folder(name, wire=encode_utf7(name))])
        assert found is not None and found.name == name


def test_search_order_inbox_spam_all_mail() -> None:
    listed = folders("INBOX", ("Junk", "\\Junk"), ("All Mail", "\\All"), "Sent")
    assert [f.name for f in search_order(listed)] == ["INBOX", "Junk", "All Mail"]
    assert (all_mail_folder(listed) or Folder("")).name == "All Mail"
    bare = search_order(folders("Sent"))
    assert [f.name for f in bare] == ["INBOX"]  # INBOX always exists (RFC 3501 5.1)


def test_folder_properties() -> None:
    folder = Folder("INBOX.Junk", frozenset({"\\HasNoChildren", "\\Junk"}), ".", "INBOX.Junk")
    assert folder.leaf == "Junk" and folder.special_use == ("\\Junk",)
    assert folder.mailbox == "INBOX.Junk" and folder.selectable and not folder.is_inbox
    assert Folder("inbox").is_inbox and Folder("x").mailbox == "x"


def test_modified_utf7_examples() -> None:
    """RFC 3501 5.1.3's example, and the escaped ampersand."""
    assert decode_utf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/台北/日本語"
    assert encode_utf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert encode_utf7("Tom & Jerry") == "Tom &- Jerry" and decode_utf7("Tom &- Jerry") == (
        "Tom & Jerry"
    )
    assert decode_utf7("Courrier ind&AOk-sirable") == "Courrier indésirable"


def test_invalid_modified_utf7_is_shown_as_sent() -> None:
    for name in ("&", "&AOk", "&!!!-", "&AA-", "&2D0-"):  # the last: a lone surrogate
        assert decode_utf7(name) == name
    assert decode_utf7("&2D3eAA-") == "\U0001f600"  # a surrogate pair is one character


@settings(max_examples=300)
@given(st.text())
def test_modified_utf7_round_trips(name: str) -> None:
    encoded = encode_utf7(name)
    assert all(0x20 <= ord(character) <= 0x7E for character in encoded)
    assert decode_utf7(encoded) == name


@settings(max_examples=300)
@given(st.text())
def test_decoding_never_raises(name: str) -> None:
    assert isinstance(decode_utf7(name), str)
