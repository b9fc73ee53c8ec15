"""The app's frame, shared by every page: its name, a visible keyboard focus everywhere, a menu button in words.

Styles and one small fixed script, for what Streamlit's own options don't cover (each says which WCAG 2.2 rule).
"""

from __future__ import annotations

import json

import streamlit as st

FOCUS_COLOUR = "#1d4e89"
"""The theme's accent: 8.6:1 against the page (#fbfaf7) and 7.5:1 against the sidebar (#eceae4), over
the 3:1 WCAG 2.2 asks of a focus indicator."""
PAGE_COLOUR = "#fbfaf7"
"""The theme's page background (.streamlit/config.toml)."""
ERROR_COLOUR = "#9b1c1c"
"""Dark red for error text: 7.7:1 on the page, over the 4.5:1 WCAG asks of text."""
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="28" viewBox="0 0 96 28" role="img" '
    'aria-label="Xface"><title>Xface</title><text x="0" y="22" font-family="sans-serif" font-size="24" '
    f'font-weight="700" fill="{FOCUS_COLOUR}">Xface</text></svg>'
)
"""The app's name as a small word mark, shown at the top of the menu and, with the menu closed, of the page."""
FRAME_CSS = f"""
/* A focus ring that is always visible on whatever has keyboard focus (WCAG 2.2: 2.4.7, 2.4.13). */
:focus-visible, [data-baseweb] :focus-visible, button:focus-visible, a:focus-visible, [role="tab"]:focus-visible {{
    outline: 3px solid {FOCUS_COLOUR} !important;
    outline-offset: 2px !important;
}}
/* A file the uploader refuses says why in text beside it, not only in a tooltip on hover (WCAG 2.2: 3.3.1). */
[data-testid="stFileChip"][aria-invalid="true"] {{
    flex-wrap: wrap;
    height: auto;
}}
[data-testid="stFileChip"][aria-invalid="true"] [role="alert"] {{
    position: static !important;
    flex-basis: 100%;
    width: auto !important;
    height: auto !important;
    margin: 0.2rem 0 0 0 !important;
    clip: auto !important;
    clip-path: none !important;
    overflow: visible !important;
    white-space: normal !important;
    color: {ERROR_COLOUR};
    font-size: 0.85rem;
}}
/* A slider's keyboard focus: Streamlit draws a half-transparent halo round the thumb (2.46:1 on the page);
   this one is solid, with a gap of page colour so it stands apart from the thumb (WCAG 2.2: 1.4.11, 2.4.13). */
[data-testid="stSlider"] div:has(> div > input[type="range"]:focus-visible) {{
    box-shadow: 0 0 0 2px {PAGE_COLOUR}, 0 0 0 5px {FOCUS_COLOUR} !important;
}}
/* The phone's closed menu slides off the screen, but its links stayed in the Tab order: seven stops where
   nothing visible has the focus, before the page's first button (WCAG 2.2: 2.4.3, 2.4.7, 2.4.11). */
[data-testid="stSidebar"][data-collapsed="true"] {{
    visibility: hidden;
}}
/* The phone's menu button says what it is in words, not only with an arrow. */
[data-testid="stExpandSidebarButton"]::after {{
    content: "Menu";
    margin-left: 0.25rem;
    font-weight: 600;
    color: {FOCUS_COLOUR};
}}
"""


CAMERA_FRAME_CSS = f"""
/* The same focus ring as the page's: the browser draws none of its own on these buttons. */
button:focus-visible {{ outline: 3px solid {FOCUS_COLOUR} !important; outline-offset: 2px !important; }}
/* Room for the ring: the buttons touch the frame's edges, which would cut it off. */
#root {{ padding: 0 6px 6px 6px; }}
"""
"""Styles for streamlit-webrtc's own frame (its Start camera button and the rest): a separate page the
app's styles don't reach, so the frame script puts them in.

Why its button and not a Streamlit one driving `desired_playing_state`: that hides the frame's buttons, but while
the wish is "playing" the component starts again each time a start fails, and tells the page nothing. With the
camera refused it tried 500 times in 4 s (Chromium, streamlit-webrtc 0.79.0), ending on "Cannot create so many
PeerConnections" instead of the sentence that says how to allow the camera."""
FRAME_SCRIPT = """
<script>
/* Names that match what the eye sees (WCAG 2.2: 2.5.3 label in name, 1.1.1 text for images):
   Streamlit calls the phone's menu button "Expand sidebar" and the word mark "Logo". Both are
   drawn again when the menu opens or closes, so a watcher names each new one. */
(() => {
    /* streamlit-webrtc draws its buttons in a frame of its own (same origin), without a visible
       keyboard focus (WCAG 2.2: 2.4.7): the frame gets the app's focus ring, again each time it loads. */
    const styleCameraFrames = () => {
        for (const frame of document.querySelectorAll('iframe[title^="streamlit_webrtc"]')) {
            if (!frame.dataset.xfaceStyled) {
                frame.dataset.xfaceStyled = "yes";
                frame.addEventListener("load", styleCameraFrames);
            }
            const inside = frame.contentDocument;
            if (inside && inside.head && !inside.getElementById("xface-frame-style")) {
                const style = inside.createElement("style");
                style.id = "xface-frame-style";
                style.textContent = CAMERA_FRAME_CSS;
                inside.head.append(style);
            }
        }
    };
    const name = () => {
        styleCameraFrames();
        for (const button of document.querySelectorAll('[data-testid="stExpandSidebarButton"]')) {
            if (button.getAttribute("aria-label") !== "Menu") button.setAttribute("aria-label", "Menu");
        }
        for (const logo of document.querySelectorAll('[data-testid$="Logo"] , img[data-testid$="Logo"]')) {
            if (logo.tagName === "IMG" && logo.alt !== "Xface") logo.alt = "Xface";
        }
    };
    name();
    if (!window.xfaceNamer) {
        window.xfaceNamer = new MutationObserver(name);
        window.xfaceNamer.observe(document.body, {
            childList: true, subtree: true, attributes: true, attributeFilter: ["aria-label", "alt"],
        });
    }
})();
</script>
""".replace("CAMERA_FRAME_CSS", json.dumps(CAMERA_FRAME_CSS))


def app_frame() -> None:
    """What every page shares: the app's name (top of the menu, or of the page while the menu is closed),
    a visible keyboard focus ring and a menu button labelled in words. Called by app.py before any page."""
    st.logo(LOGO, size="large")
    st.html(f"<style>{FRAME_CSS}</style>")
    st.html(FRAME_SCRIPT, unsafe_allow_javascript=True)  # our own fixed script: no user text goes into it
