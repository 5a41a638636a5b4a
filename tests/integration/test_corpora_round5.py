"""The builders of the corpus suite's fifth round (issue 30), on small inputs written here.

Each parses the format of its Debian package's files (DocBook HTML, SKK dictionaries,
KANJIDIC, POD, dictd entries) without the package; `test_corpora_suite` builds and
measures the real corpora where their packages are installed. Nothing is trained.
"""

from __future__ import annotations


def test_cjk_join_drops_line_breaks_between_chinese_characters_only():
    from benchmarks.corpora_guides import cjk_join

    assert cjk_join("迷你 Debian\n系统的\n步骤。  Unified Extensible\nFirmware") == (
        "迷你 Debian 系统的步骤。 Unified Extensible Firmware"
    )


def test_debian_reference_sections_leave_out_headings_titles_and_cross_references():
    from benchmarks.corpora_guides import chapter_sections

    html = (
        '<h1 class="title">第 3 章 系统初始化</h1><div class="toc">3.1. 目录</div>'
        '<div class="section"><h2 class="title"><a id="x"/>3.1. 启动过程概述</h2>'
        "<p>启动过程\n分为四个阶段，参见 "
        '<a class="xref" href="#y">3.1.4 节 “第四阶段”</a>。</p>'
        '<div class="section"><h3 class="title">3.1.1. 第一阶段：UEFI</h3>'
        '<p class="title"><strong>表 3.1. 引导加载程序列表</strong></p>'
        "<table><tr><td>grub-efi-amd64</td><td>V:1</td></tr></table>"
        "<pre>$ sudo update-grub</pre></div></div>"
        '<div class="navfooter">下一页</div>'
    )
    title, sections = chapter_sections(html)
    assert title == "系统初始化"
    assert sections == ["启动过程分为四个阶段，参见。", "grub-efi-amd64 V:1 $ sudo update-grub"]


def test_skk_lines_give_their_candidate_words_without_annotations():
    from benchmarks.corpora_edict import skk_entries

    assert skk_entries("あいおい /相生;JR山陽本線,赤穂線/相老;東武桐生線/") == ["相生", "相老"]
    assert skk_entries("あおば /青葉;姓/安大葉;姓/") == ["青葉", "安大葉"]
    assert skk_entries("わりもどs /割戻/") == []  # okuri-ari: a verb stem
    assert skk_entries("comsys /コムシス;[企業名]/") == []  # read in Latin letters
    assert skk_entries(";; okuri-nasi entries.") == []
    assert skk_entries("なう /(current-time-string)/今/") == ["今"]  # Lisp left out


def test_kanjidic_lines_keep_kanji_readings_and_meanings_and_their_list():
    from benchmarks.corpora_edict import kanjidic_text

    joyo = "亜 3021 U4e9c B1 C7 G8 S7 F1509 Yya4 Wa ア つ.ぐ T1 や つぎ {Asia} {rank next}"
    assert kanjidic_text(joyo) == ("亜 ア つ.ぐ Asia | rank next", "jōyō")
    name = "娃 3025 U5a03 B38 G9 S9 Ywa2 Wwae ア アイ うつく.しい {beautiful}"
    assert kanjidic_text(name) == ("娃 ア アイ うつく.しい beautiful", "jinmeiyō")
    assert kanjidic_text("日 467C U65e5 B72 G1 S4 ニチ ひ -び {day} {sun}")[1] == "jōyō"
    assert kanjidic_text("唖 3022 U5516 B30 S10 ア アク おし {mute}") is None  # no list


def test_perlfaq_questions_carry_their_answers_and_the_parts_name():
    from benchmarks.corpora_docs import perlfaq_part

    pod = (
        "=head1 NAME\n\nperlfaq6 - Regular Expressions\n\n=head1 DESCRIPTION\n\n"
        "This section is intro.\n\n=head2 How can I match a word?\n\nUse C<\\b>:\n\n"
        "    $s =~ /\\bword\\b/;\n\n=over 4\n\n=item *\n\nOr split.\n\n=back\n\n"
        "=head2 Why?\n\nBecause.\n\n=head1 AUTHOR AND COPYRIGHT\n\nSomeone.\n"
    )
    assert perlfaq_part(pod) == [
        (
            "How can I match a word? Use C<\\b>: $s =~ /\\bword\\b/; * Or split.",
            "Regular Expressions",
        ),
        ("Why? Because.", "Regular Expressions"),
    ]
    assert perlfaq_part("=head2 No NAME\n\nText.\n") == []


def test_vera_entries_are_labelled_by_their_first_tag_which_is_cut():
    from benchmarks.corpora_dict import vera_entry

    assert vera_entry("ACE\n       Access Control Entry (AD, ACL)\n       \n") == (
        "ACE Access Control Entry",
        "AD",
    )
    assert vera_entry("HTCPCP\n       Hyper Text Coffee Pot Control Protocol\n") is None
    assert vera_entry("The original data is available from:\n  x (y)\n") is None


def test_devil_entries_are_labelled_by_a_coarse_part_of_speech():
    from benchmarks.corpora_dict import devil_entry

    assert devil_entry("ALIEN, n.  An American sovereign in his\nprobationary state.\n") == (
        "An American sovereign in his probationary state.",
        "noun",
    )
    assert devil_entry("ABASE, v.t.  To lower.\n") == ("To lower.", "verb")
    assert devil_entry("ABSURD, adj.  Inconsistent.\n") == ("Inconsistent.", "adjective")
    assert devil_entry("ALL, adv.  Wholly.\n") is None  # too rare a part of speech
    assert devil_entry("CUI BONO?  [Latin]  What good would that do me?\n") is None
