"""The pages' words in Dutch (the default) and English (``?lang=en``).

A plain dict of strings per language: the pages have a few hundred words, and a test checks
that both languages have every key (tests/pages/test_i18n.py). A page module may bring its own
strings with `add` (api/pages/waste.py ...). Strings are ``str.format``
templates; the templates escape what they produce (Jinja2 autoescape).
"""

from __future__ import annotations

import math
from typing import Literal

Lang = Literal["nl", "en"]
LANGS: tuple[Lang, ...] = ("nl", "en")
DEFAULT: Lang = "nl"
#: What a missing value shows (an en dash, as in printed tables).
NONE = "\u2013"


def lang_of(value: str | None) -> Lang:
    """The page language from ``?lang=``: English when asked for, Dutch otherwise (a link
    with ``lang=de`` or garbage still shows a page rather than an error)."""
    return "en" if value is not None and value.strip().lower() == "en" else DEFAULT


def number(value: float | None, lang: Lang, decimals: int = 0) -> str:
    """``value`` as people in ``lang`` write it: 1.350 and 21,5 in Dutch, 1,350 and 21.5 in
    English; `NONE` for no value."""
    if value is None or not math.isfinite(value):
        return NONE
    text = f"{value:,.{decimals}f}"
    if lang == "nl":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def percent(share: float | None, lang: Lang) -> str:
    """A share 0..1 as a whole percentage ("42 %")."""
    if share is None or not math.isfinite(share):
        return NONE
    return f"{number(share * 100, lang)} %"


STRINGS: dict[Lang, dict[str, str]] = {
    "nl": {
        # base
        "site.tagline": "Open data van het regionale LoRaWAN-netwerk",
        "nav.home": "Start",
        "nav.waste": "Afval",
        "nav.water": "Water",
        "nav.docs": "API-documentatie",
        "nav.key": "Sleutel",
        "lang.switch": "English",
        "lang.switch_title": "Deze pagina in het Engels",
        "footer.open": "Zonder sleutel ziet u alleen open data.",
        "footer.keyed": "U bekijkt deze pagina met de sleutel van {organisation}.",
        "footer.api": "Alles op deze pagina komt ook uit de API",
        "footer.version": "meetnet {version}",
        # errors
        "error.title": "Fout {status}",
        "error.400": "Dit verzoek kunnen we niet lezen.",
        "error.401": "Deze sleutel kennen we niet, of hij is ingetrokken.",
        "error.404": "Niet gevonden.",
        "error.device_not_found": "Er is geen zichtbaar apparaat met dev_eui {dev_eui}.",
        "error.school_not_found": "Er is geen school {organisation} met klaslokalen die u mag zien.",
        "error.503": "De database antwoordt nu niet; probeer het straks opnieuw.",
        "error.back": "Terug naar de startpagina",
        # key form
        "key.title": "Een API-sleutel gebruiken",
        "key.intro": "Met een sleutel van uw organisatie ziet u op deze pagina's ook uw eigen "
                     "apparaten en die met u gedeeld zijn. De sleutel wordt bewaard in een "
                     "cookie van deze browser (HttpOnly), tot u hem hier weer vergeet.",
        "key.label": "API-sleutel",
        "key.submit": "Gebruiken",
        "key.forget": "Sleutel vergeten",
        "key.current": "Deze browser gebruikt de sleutel van {organisation} ({role}).",
        "key.none": "Deze browser gebruikt geen sleutel: u ziet open data.",
        "key.bad": "Deze sleutel kennen we niet, of hij is ingetrokken.",
        "key.cross_site": "Het formulier kwam niet van deze site.",
        # front door
        "home.title": "Wat meet dit netwerk?",
        "home.intro": "Sensoren van gemeenten, scholen, bedrijven en studenten sturen hun "
                      "metingen over één LoRaWAN-netwerk. meetnet maakt er data van die "
                      "iedereen kan gebruiken: open data zonder sleutel, eigen data met een "
                      "sleutel van uw organisatie.",
        "home.uc.waste": "Afval",
        "home.uc.waste.text": "Hoe vol is elke afvalbak, wanneer is hij vol, en welke route "
                              "rijdt de vuilniswagen?",
        "home.uc.classroom": "Klaslokalen",
        "home.uc.classroom.text": "Is de lucht in dit lokaal gezond? CO2, temperatuur en "
                                  "vochtigheid, in Frisse Scholen-klassen.",
        "home.uc.crossing": "Zebrapaden",
        "home.uc.crossing.text": "Hoeveel mensen steken over, en hoe hard rijden auto's aan "
                                 "(V85)?",
        "home.uc.water": "Water",
        "home.uc.water.text": "Stijgt het water? Peil in m NAP tegen het streefpeil.",
        "home.devices": "{count} apparaten",
        "home.map": "Kaart van de open apparaten",
        "home.map.none": "Er zijn nog geen open apparaten met een plaats.",
        "home.rooms": "Klaslokalen",
        "home.schools": "Scholen",
        "home.datasets": "Open datasets",
        "home.datasets.intro": "Elke dataset is zonder sleutel te downloaden: CSV voor "
                               "spreadsheets en pandas, SenML (RFC 8428) en GeoJSON voor "
                               "kaarten. Zonder periode krijgt u de laatste 24 uur.",
        "home.datasets.csv": "CSV",
        "home.datasets.senml": "SenML",
        "home.datasets.geojson": "GeoJSON",
        "home.datasets.curl": "Met curl",
        "home.datasets.pandas": "In Python met pandas",
        "home.key": "Een sleutel krijgen",
        "home.key.text": "Open data lezen kan zonder sleutel. Wilt u de eigen apparaten van "
                         "uw organisatie zien, vraag dan de beheerder van meetnet om een "
                         "sleutel (meetnet keys create --org UW-ORGANISATIE --role reader). "
                         "Geef hem mee als kopregel:",
        "home.key.pages": "Op deze pagina's kunt u hem ook in een cookie zetten:",
        "home.docs": "Alle routes van de API staan in de documentatie:",
        # classroom
        "room.title": "Lucht in {name}",
        "room.now": "Nu",
        "room.co2": "CO2",
        "room.temperature": "Temperatuur",
        "room.humidity": "Luchtvochtigheid",
        "room.class": "klasse {cls}",
        "room.class_none": "geen klasse",
        "room.measured_at": "gemeten om {time}",
        "room.no_data": "Nog geen metingen.",
        "room.advice.window": "Zet een raam open: {ppm} ppm, {cls}.",
        "room.advice.ok": "De lucht is goed: {ppm} ppm, {cls}.",
        "room.advice.watch": "Let op: {ppm} ppm, {cls}; lucht het lokaal in de pauze.",
        "room.advice.none": "Nog geen CO2-meting.",
        "room.today": "CO2 vandaag",
        "room.today.empty": "Vandaag nog geen CO2-metingen.",
        "room.day": "CO2 op {day}",
        "room.day.empty": "Geen CO2-metingen op deze dag.",
        "room.week": "Afgelopen 7 dagen, tijdens de lessen",
        "room.week.period": "{start} tot {end}",
        "room.week.hours": "{hours} lesuren gemeten",
        "room.week.empty": "Geen metingen in lestijd in de afgelopen 7 dagen.",
        "room.ventilation": "Ventilatie",
        "room.ventilation.ach": "{ach} luchtwisselingen per uur",
        "room.ventilation.pupil": "{dm3} dm³/s per leerling (Bouwbesluit: 8,5 nieuw, 3,44 "
                                  "bestaand)",
        "room.ventilation.none": "Niet te schatten: {reason}",
        "room.ventilation.reason.no-readings": "geen CO2-metingen in deze periode",
        "room.ventilation.reason.no-decay": "na schooltijd zakte de CO2 nergens {minutes} "
                                            "minuten of langer terwijl die meer dan {excess} "
                                            "ppm boven de buitenlucht was",
        "room.ventilation.how": "geschat uit de daling van CO2 na schooltijd",
        "room.refresh": "Deze pagina ververst elke {minutes} minuten.",
        "room.school": "Alle lokalen van {organisation}",
        "room.chart": "CO2 vandaag met de Frisse Scholen-klassen",
        "room.shares": "Aandeel van de lestijd per Frisse Scholen-klasse",
        # school
        "school.title": "Lokalen van {organisation}",
        "school.summary": "De school: {rooms} lokalen, {hours} lesuren",
        "school.worst": "Minste tijd in klasse A: {name} ({share})",
        "school.median_ach": "Mediaan: {ach} luchtwisselingen per uur",
        "school.truncated": "Alleen de eerste {count} lokalen staan hier.",
        "school.room.co2": "CO2 nu",
        "school.room.mean": "gemiddeld {ppm} ppm, hoogste {max} ppm",
        # classes
        "class.A": "klasse A",
        "class.B": "klasse B",
        "class.C": "klasse C",
        "class.-": "boven klasse C",
        "unit.ppm": "ppm",
        "time.updated": "Bijgewerkt {time}",
    },
    "en": {
        "site.tagline": "Open data of the regional LoRaWAN network",
        "nav.home": "Home",
        "nav.waste": "Waste",
        "nav.water": "Water",
        "nav.docs": "API docs",
        "nav.key": "Key",
        "lang.switch": "Nederlands",
        "lang.switch_title": "This page in Dutch",
        "footer.open": "Without a key you see open data only.",
        "footer.keyed": "You are looking at this page with the key of {organisation}.",
        "footer.api": "Everything on this page also comes from the API",
        "footer.version": "meetnet {version}",
        "error.title": "Error {status}",
        "error.400": "We cannot read this request.",
        "error.401": "We do not know this key, or it has been revoked.",
        "error.404": "Not found.",
        "error.device_not_found": "There is no visible device with dev_eui {dev_eui}.",
        "error.school_not_found": "There is no school {organisation} with classrooms you may "
                                  "see.",
        "error.503": "The database does not answer right now; try again later.",
        "error.back": "Back to the home page",
        "key.title": "Using an API key",
        "key.intro": "With your organisation's key these pages also show your own devices and "
                     "those shared with you. The key is kept in a cookie of this browser "
                     "(HttpOnly) until you forget it here.",
        "key.label": "API key",
        "key.submit": "Use",
        "key.forget": "Forget the key",
        "key.current": "This browser uses the key of {organisation} ({role}).",
        "key.none": "This browser uses no key: you see open data.",
        "key.bad": "We do not know this key, or it has been revoked.",
        "key.cross_site": "The form did not come from this site.",
        "home.title": "What does this network measure?",
        "home.intro": "Sensors of municipalities, schools, companies and students send their "
                      "measurements over one LoRaWAN network. meetnet turns them into data "
                      "anyone can use: open data without a key, your own data with your "
                      "organisation's key.",
        "home.uc.waste": "Waste",
        "home.uc.waste.text": "How full is each bin, when will it be full, and which route "
                              "does the truck drive?",
        "home.uc.classroom": "Classrooms",
        "home.uc.classroom.text": "Is the air in this classroom healthy? CO2, temperature and "
                                  "humidity, in Frisse Scholen classes.",
        "home.uc.crossing": "Zebra crossings",
        "home.uc.crossing.text": "How many people cross, and how fast do cars approach (V85)?",
        "home.uc.water": "Water",
        "home.uc.water.text": "Is the water rising? Level in m NAP against its target.",
        "home.devices": "{count} devices",
        "home.map": "Map of the open devices",
        "home.map.none": "There are no open devices with a location yet.",
        "home.rooms": "Classrooms",
        "home.schools": "Schools",
        "home.datasets": "Open datasets",
        "home.datasets.intro": "Every dataset downloads without a key: CSV for spreadsheets "
                               "and pandas, SenML (RFC 8428), and GeoJSON for maps. Without a "
                               "period you get the last 24 hours.",
        "home.datasets.csv": "CSV",
        "home.datasets.senml": "SenML",
        "home.datasets.geojson": "GeoJSON",
        "home.datasets.curl": "With curl",
        "home.datasets.pandas": "In Python with pandas",
        "home.key": "Getting a key",
        "home.key.text": "Reading open data needs no key. To see your organisation's own "
                         "devices, ask the meetnet operator for a key (meetnet keys create "
                         "--org YOUR-ORGANISATION --role reader). Send it as a header:",
        "home.key.pages": "On these pages you can also keep it in a cookie:",
        "home.docs": "Every route of the API is in the documentation:",
        "room.title": "Air in {name}",
        "room.now": "Now",
        "room.co2": "CO2",
        "room.temperature": "Temperature",
        "room.humidity": "Humidity",
        "room.class": "class {cls}",
        "room.class_none": "no class",
        "room.measured_at": "measured at {time}",
        "room.no_data": "No readings yet.",
        "room.advice.window": "Open a window: {ppm} ppm, {cls}.",
        "room.advice.ok": "The air is good: {ppm} ppm, {cls}.",
        "room.advice.watch": "Watch out: {ppm} ppm, {cls}; air the room in the break.",
        "room.advice.none": "No CO2 reading yet.",
        "room.today": "CO2 today",
        "room.today.empty": "No CO2 readings today yet.",
        "room.day": "CO2 on {day}",
        "room.day.empty": "No CO2 readings on this day.",
        "room.week": "Last 7 days, during lessons",
        "room.week.period": "{start} to {end}",
        "room.week.hours": "{hours} lesson hours measured",
        "room.week.empty": "No readings in lesson time in the last 7 days.",
        "room.ventilation": "Ventilation",
        "room.ventilation.ach": "{ach} air changes per hour",
        "room.ventilation.pupil": "{dm3} dm³/s per pupil (Bouwbesluit: 8.5 new, 3.44 existing)",
        "room.ventilation.none": "Cannot be estimated: {reason}",
        "room.ventilation.reason.no-readings": "no CO2 readings in this period",
        "room.ventilation.reason.no-decay": "after school the CO2 nowhere fell for {minutes} "
                                            "minutes or longer while more than {excess} ppm "
                                            "above outdoor air",
        "room.ventilation.how": "estimated from the CO2 decay after school",
        "room.refresh": "This page refreshes every {minutes} minutes.",
        "room.school": "All rooms of {organisation}",
        "room.chart": "CO2 today with the Frisse Scholen classes",
        "room.shares": "Share of lesson time per Frisse Scholen class",
        "school.title": "Rooms of {organisation}",
        "school.summary": "The school: {rooms} rooms, {hours} lesson hours",
        "school.worst": "Least time in class A: {name} ({share})",
        "school.median_ach": "Median: {ach} air changes per hour",
        "school.truncated": "Only the first {count} rooms are shown.",
        "school.room.co2": "CO2 now",
        "school.room.mean": "mean {ppm} ppm, highest {max} ppm",
        "class.A": "class A",
        "class.B": "class B",
        "class.C": "class C",
        "class.-": "above class C",
        "unit.ppm": "ppm",
        "time.updated": "Updated {time}",
    },
}


def add(strings: dict[Lang, dict[str, str]]) -> None:
    """A page module's own strings (its keys prefixed with the page's name, e.g. "waste."),
    added at import; tests/pages/test_i18n.py checks them like these. A key defined twice is
    an error, so one page cannot change another's words."""
    for lang in LANGS:
        clash = set(strings.get(lang, {})) & set(STRINGS[lang])
        if clash:
            raise ValueError(f"page strings defined twice: {sorted(clash)}")
    for lang in LANGS:
        STRINGS[lang].update(strings.get(lang, {}))


def text(lang: Lang, key: str, **values: object) -> str:
    """The string ``key`` in ``lang``, formatted with ``values``. A missing key is a KeyError:
    the i18n test catches it before a visitor does."""
    template = STRINGS[lang][key]
    return template.format(**values) if values else template
