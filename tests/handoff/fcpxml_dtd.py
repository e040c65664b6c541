"""FCPXML 1.10 content models of the elements hdrpipe writes, checked by lxml.

Apple publishes the FCPXML DTD ("Document Type Definition", FCPXML 1.10, in
the Final Cut Pro developer documentation and inside Final Cut Pro) with
"Copyright Apple Inc. All rights reserved." and no licence to redistribute it,
so it is not shipped here. Instead the declarations of the elements the writer
emits (and the attributes they may carry) are transcribed below from the 1.10
DTD, with its parameter entities (%time;, %ao_attrs;, %clip_attrs...;,
%media_attrs;, %timing-params;, %intrinsic-params;, %anchor_item;,
%marker_item;, %video_filter_item;) written out, and libxml2 validates each
written document against them: element order and content, required and #FIXED
attributes, enumerations, ID uniqueness and IDREF targets. Children the writer
never emits are named in the content models (so a wrong order still fails) but
not declared, so a document using them fails as "no declaration" here, which
is the point: extending the writer means extending this transcription from
the DTD. What a DTD cannot say (time values as rational seconds, ``format``
attributes pointing at a ``format``) is checked in :func:`fcpxml_errors`.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from lxml import etree

__all__ = ["FCPXML_1_10_SUBSET", "fcpxml_errors", "assert_fcpxml_valid"]

_ANCHOR = (
    "audio | video | clip | title | caption | mc-clip | ref-clip | sync-clip | "
    "asset-clip | audition | spine"
)
_CLIP_ITEM = (
    "audio | video | clip | title | mc-clip | ref-clip | sync-clip | asset-clip | "
    "audition | gap"
)
_INTRINSIC_VIDEO = (
    "object-tracker?, adjust-crop?, adjust-corners?, adjust-conform?, "
    "adjust-transform?, adjust-blend?, adjust-stabilization?, "
    "adjust-rollingShutter?, adjust-360-transform?, adjust-reorient?, "
    "adjust-orientation?, adjust-cinematic?"
)
_EVENT_ITEM = (
    "clip | audition | mc-clip | ref-clip | sync-clip | asset-clip | "
    "collection-folder | keyword-collection | smart-collection | project"
)

FCPXML_1_10_SUBSET = f"""
<!ELEMENT fcpxml (import-options?, resources?, (library | event* | ({_EVENT_ITEM})*))>
<!ATTLIST fcpxml version CDATA #FIXED "1.10">

<!ELEMENT event ({_EVENT_ITEM})*>
<!ATTLIST event name CDATA #IMPLIED>
<!ATTLIST event uid CDATA #IMPLIED>

<!ELEMENT project (sequence)>
<!ATTLIST project name CDATA #IMPLIED>
<!ATTLIST project uid CDATA #IMPLIED>
<!ATTLIST project id ID #IMPLIED>
<!ATTLIST project modDate CDATA #IMPLIED>

<!ELEMENT resources (asset | effect | format | media | locator)*>

<!ELEMENT format EMPTY>
<!ATTLIST format id ID #REQUIRED>
<!ATTLIST format name CDATA #IMPLIED>
<!ATTLIST format frameDuration CDATA #IMPLIED>
<!ATTLIST format fieldOrder CDATA #IMPLIED>
<!ATTLIST format width CDATA #IMPLIED>
<!ATTLIST format height CDATA #IMPLIED>
<!ATTLIST format paspH CDATA #IMPLIED>
<!ATTLIST format paspV CDATA #IMPLIED>
<!ATTLIST format colorSpace CDATA #IMPLIED>
<!ATTLIST format projection CDATA #IMPLIED>
<!ATTLIST format stereoscopic CDATA #IMPLIED>

<!ELEMENT asset (media-rep+, metadata?)>
<!ATTLIST asset id ID #REQUIRED>
<!ATTLIST asset name CDATA #IMPLIED>
<!ATTLIST asset uid CDATA #IMPLIED>
<!ATTLIST asset start CDATA #IMPLIED>
<!ATTLIST asset duration CDATA #IMPLIED>
<!ATTLIST asset hasVideo CDATA #IMPLIED>
<!ATTLIST asset format IDREF #IMPLIED>
<!ATTLIST asset hasAudio CDATA #IMPLIED>
<!ATTLIST asset videoSources CDATA #IMPLIED>
<!ATTLIST asset audioSources CDATA #IMPLIED>
<!ATTLIST asset audioChannels CDATA #IMPLIED>
<!ATTLIST asset audioRate CDATA #IMPLIED>
<!ATTLIST asset customLUTOverride CDATA #IMPLIED>
<!ATTLIST asset colorSpaceOverride CDATA #IMPLIED>
<!ATTLIST asset projectionOverride CDATA #IMPLIED>
<!ATTLIST asset stereoscopicOverride CDATA #IMPLIED>
<!ATTLIST asset auxVideoFlags CDATA #IMPLIED>

<!ELEMENT media-rep (bookmark?)>
<!ATTLIST media-rep kind (original-media | proxy-media) "original-media">
<!ATTLIST media-rep sig CDATA #IMPLIED>
<!ATTLIST media-rep src CDATA #REQUIRED>
<!ATTLIST media-rep suggestedFilename CDATA #IMPLIED>

<!ELEMENT spine ({_CLIP_ITEM} | transition)*>
<!ATTLIST spine lane CDATA #IMPLIED>
<!ATTLIST spine offset CDATA #IMPLIED>
<!ATTLIST spine name CDATA #IMPLIED>
<!ATTLIST spine format IDREF #IMPLIED>

<!ELEMENT sequence (note?, spine, metadata?)>
<!ATTLIST sequence format IDREF #REQUIRED>
<!ATTLIST sequence duration CDATA #IMPLIED>
<!ATTLIST sequence tcStart CDATA #IMPLIED>
<!ATTLIST sequence tcFormat (DF | NDF) #IMPLIED>
<!ATTLIST sequence audioLayout (mono | stereo | surround) #IMPLIED>
<!ATTLIST sequence audioRate (32k | 44.1k | 48k | 88.2k | 96k | 176.4k | 192k) #IMPLIED>
<!ATTLIST sequence renderFormat CDATA #IMPLIED>
<!ATTLIST sequence keywords CDATA #IMPLIED>

<!ELEMENT asset-clip (note?, conform-rate?, timeMap?, {_INTRINSIC_VIDEO},
    adjust-volume?, adjust-panner?, ({_ANCHOR})*,
    (marker | chapter-marker | rating | keyword | analysis-marker)*,
    audio-channel-source*, (filter-video | filter-video-mask)*, filter-audio*,
    metadata?)>
<!ATTLIST asset-clip ref IDREF #REQUIRED>
<!ATTLIST asset-clip lane CDATA #IMPLIED>
<!ATTLIST asset-clip offset CDATA #IMPLIED>
<!ATTLIST asset-clip name CDATA #IMPLIED>
<!ATTLIST asset-clip start CDATA #IMPLIED>
<!ATTLIST asset-clip duration CDATA #IMPLIED>
<!ATTLIST asset-clip enabled (0 | 1) "1">
<!ATTLIST asset-clip srcEnable (all | audio | video) "all">
<!ATTLIST asset-clip audioStart CDATA #IMPLIED>
<!ATTLIST asset-clip audioDuration CDATA #IMPLIED>
<!ATTLIST asset-clip format IDREF #IMPLIED>
<!ATTLIST asset-clip tcStart CDATA #IMPLIED>
<!ATTLIST asset-clip tcFormat (DF | NDF) #IMPLIED>
<!ATTLIST asset-clip modDate CDATA #IMPLIED>
<!ATTLIST asset-clip audioRole CDATA #IMPLIED>
<!ATTLIST asset-clip videoRole CDATA #IMPLIED>
"""

_DTD = etree.DTD(io.StringIO(FCPXML_1_10_SUBSET))
# %time; values: a rational number of seconds, "N/Ds" or "Ns" (DTD comment).
_TIME = re.compile(r"(0|[0-9]+(/[0-9]+)?)s")
_TIME_ATTRS = {
    "start",
    "duration",
    "offset",
    "tcStart",
    "frameDuration",
    "audioStart",
    "audioDuration",
}


def fcpxml_errors(doc: Path | ET.Element) -> list[str]:
    """Errors of an FCPXML file or element against the 1.10 subset ([] if valid)."""
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
    if isinstance(doc, Path):
        root = etree.parse(str(doc), parser).getroot()
    else:
        root = etree.fromstring(ET.tostring(doc), parser)
    errors: list[str] = []
    if not _DTD.validate(root):
        errors += [f"{e.line}: {e.message}" for e in _DTD.error_log]
    ids = {el.get("id"): el.tag for el in root.iter() if el.get("id") is not None}
    for el in root.iter():
        for key, value in el.attrib.items():
            if key in _TIME_ATTRS and not _TIME.fullmatch(value):
                errors.append(f"{el.tag}@{key}={value!r} is no FCPXML time")
        if el.get("format") is not None and ids.get(el.get("format")) != "format":
            errors.append(f"{el.tag}@format does not name a <format>")
    return errors


def assert_fcpxml_valid(doc: Path | ET.Element) -> None:
    errors = fcpxml_errors(doc)
    assert not errors, "FCPXML 1.10: " + "; ".join(errors)
