#!/usr/bin/env python3
"""Validate the MediSync medication knowledge base (app/src/prescribing/kb.json).

Usage:
    scripts/check-kb.py [path] [--fix-format]

Checks the structure the Rust loader expects (exact keys, id syntax, references,
class hierarchy without cycles, strength/form/route/unit vocabularies), the ids and
allergen labels the application relies on, and the clinical "no alert" cases used
by the tests. Prints a summary and exits non-zero if anything is wrong.

--fix-format rewrites the file in the canonical layout (one object per line inside
each list, two-space indentation) after a successful validation.

Python 3.11 standard library only.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "app" / "src" / "prescribing" / "kb.json"

TOP_KEYS = ["version", "title", "sources", "classes", "ingredients", "medicines", "cross_reactivity", "interactions"]
OPTIONAL_TOP_KEYS = ["duplicate_therapy_classes"]  # accepted by the loader (serde default), list of class ids
CLASS_KEYS = {"id", "name", "parents", "synonyms"}
INGREDIENT_KEYS = {"id", "name", "classes", "synonyms"}
MEDICINE_KEYS = {"id", "generic", "ingredients", "strength", "form", "route", "unit"}
CROSS_KEYS = {"id", "allergy", "drug", "severity", "text", "management"}
INTERACTION_KEYS = {"id", "a", "b", "severity", "onc_high_priority", "text", "management"}

FORMS = {"tablet", "capsule", "suspension", "syrup", "solution", "injection", "cream", "ointment", "gel",
         "drops", "inhaler", "patch", "suppository", "powder", "spray", "lozenge"}
ROUTES = {"oral", "intravenous", "intramuscular", "subcutaneous", "topical", "inhaled", "ophthalmic", "otic",
          "nasal", "rectal", "vaginal", "sublingual", "transdermal"}
UNITS = {"tablet", "capsule", "ml", "g", "puff", "drop", "patch", "suppository", "vial", "ampoule", "sachet",
         "unit", "dose", "lozenge"}
STRENGTH_UNITS = {"mg", "mcg", "g", "ml", "units", "%", "mmol"}
INTERACTION_SEVERITIES = {"high", "moderate", "low"}
CROSS_SEVERITIES = {"high", "moderate"}

# What may be dispensed/counted for each dose form, and plausible routes for it.
FORM_UNITS = {
    "tablet": {"tablet"}, "capsule": {"capsule"}, "suspension": {"ml"}, "syrup": {"ml"},
    "solution": {"ml", "drop"}, "injection": {"vial", "ampoule", "ml", "dose", "unit"},
    "cream": {"g"}, "ointment": {"g"}, "gel": {"g"}, "drops": {"ml", "drop"}, "inhaler": {"puff", "dose"},
    "patch": {"patch"}, "suppository": {"suppository"}, "powder": {"sachet", "g", "dose"},
    "spray": {"dose", "puff", "ml"}, "lozenge": {"lozenge"},
}
FORM_ROUTES = {
    "tablet": {"oral", "sublingual", "vaginal"}, "capsule": {"oral", "inhaled", "vaginal"},
    "suspension": {"oral"}, "syrup": {"oral"}, "solution": {"oral", "topical", "inhaled", "nasal"},
    "injection": {"intravenous", "intramuscular", "subcutaneous"},
    "cream": {"topical", "vaginal"}, "ointment": {"topical", "ophthalmic"}, "gel": {"topical", "oral"},
    "drops": {"ophthalmic", "otic", "nasal", "oral"}, "inhaler": {"inhaled"}, "patch": {"transdermal"},
    "suppository": {"rectal", "vaginal"}, "powder": {"oral", "inhaled"},
    "spray": {"nasal", "sublingual", "topical"}, "lozenge": {"oral"},
}
PER_VOLUME_FORMS = {"suspension", "syrup"}  # single-ingredient oral liquids must state amount per volume

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RULE_ID_RE = re.compile(r"^[a-z0-9]+(?:[-+~][a-z0-9]+)*$")
VERSION_RE = re.compile(r"^\d{4}\.\d{1,2}\.\d+$")
AMOUNT_RE = re.compile(r"^(\d+(?:\.\d+)?) (\S+)$")
SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")

REQUIRED_CLASSES = ["penicillins", "cephalosporins", "beta-lactams", "nsaids", "qt-prolonging", "ace-inhibitors",
                    "opioids", "sulfonamide-antibiotics", "macrolides", "fluoroquinolones", "tetracyclines",
                    "statins", "proton-pump-inhibitors", "mao-inhibitors", "serotonergic"]
REQUIRED_INGREDIENTS = ["amoxicillin", "cefalexin", "ibuprofen", "naproxen", "aspirin", "warfarin", "paracetamol",
                        "clarithromycin", "simvastatin", "metformin", "omeprazole", "ciprofloxacin", "tizanidine",
                        "sertraline", "tramadol", "phenelzine"]
REQUIRED_SYNONYMS = {"cefalexin": "cephalexin", "paracetamol": "acetaminophen"}
REQUIRED_INGREDIENT_CLASSES = {"aspirin": ["nsaids", "antiplatelets", "salicylates"]}
REQUIRED_MEDICINES = ["amoxicillin-500mg-capsule", "cefalexin-500mg-capsule", "ibuprofen-400mg-tablet",
                      "warfarin-5mg-tablet", "paracetamol-500mg-tablet", "metformin-500mg-tablet",
                      "amoxicillin-250mg-5ml-suspension"]
# Allergen labels offered by the app -> must match a class (or, where noted, an ingredient).
REQUIRED_ALLERGENS = {
    "Penicillins": "class", "Cephalosporins": "class", "Sulfonamide antibiotics": "class",
    "Macrolide antibiotics": "class", "Fluoroquinolones": "class", "Tetracyclines": "class",
    "Aspirin": "ingredient", "NSAIDs": "class", "Opioids": "class", "ACE inhibitors": "class",
    "Anticonvulsants": "class", "Iodinated contrast media": "class", "Local anaesthetics": "class",
    "Neuromuscular blockers": "class", "Insulin": "any", "Vaccines": "class",
}
# Food and environmental allergens offered by the app: must not match any medicine entry.
NON_MEDICINE_ALLERGENS = ["Peanut", "Tree nuts", "Milk", "Egg", "Wheat", "Soy", "Fish", "Shellfish", "Sesame",
                          "Latex", "Bee or wasp venom", "Pollen", "House dust mite", "Animal dander", "Mould",
                          "Nickel", "Adhesive tape"]
REQUIRED_CROSS = [("penicillins", "cephalosporins", "moderate"), ("penicillins", "carbapenems", "moderate"),
                  ("cephalosporins", "penicillins", "moderate")]
# Pairs the tests use as "no alert" cases: no interaction and no cross-reactivity may fire.
NO_ALERT_PAIRS = [("paracetamol", "amoxicillin"), ("metformin", "amoxicillin"), ("metformin", "paracetamol")]
MIN_MEDICINES = 200
MIN_INGREDIENTS = 150


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


def normalize_label(text: str) -> str:
    """Case- and accent-insensitive form used to compare names, synonyms and allergen labels."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[^0-9a-z]+", " ", text)
    return " ".join(text.split())


def sentences(text: str) -> int:
    return len([s for s in SENTENCE_SPLIT_RE.split(text.strip()) if s])


def no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate JSON key {key!r}")
        obj[key] = value
    return obj


def check_object(rep: Report, where: str, obj, keys: set[str]) -> bool:
    if not isinstance(obj, dict):
        rep.error(f"{where}: expected an object, got {type(obj).__name__}")
        return False
    missing = keys - obj.keys()
    unknown = obj.keys() - keys
    if missing:
        rep.error(f"{where}: missing key(s) {sorted(missing)}")
    if unknown:
        rep.error(f"{where}: unknown key(s) {sorted(unknown)} (the Rust loader rejects unknown keys)")
    return not missing


def check_text(rep: Report, where: str, value, field: str) -> bool:
    if not isinstance(value, str) or not value.strip():
        rep.error(f"{where}: {field} must be a non-empty string")
        return False
    if value != value.strip() or "  " in value:
        rep.error(f"{where}: {field} has leading/trailing or doubled spaces")
    return True


def check_str_list(rep: Report, where: str, value, field: str, allow_empty: bool = True) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        rep.error(f"{where}: {field} must be a list of non-empty strings")
        return []
    if not allow_empty and not value:
        rep.error(f"{where}: {field} must not be empty")
    dups = [v for v, n in Counter(value).items() if n > 1]
    if dups:
        rep.error(f"{where}: {field} has duplicates {dups}")
    return value


def check_ids(rep: Report, section: str, items: list, pattern: re.Pattern) -> dict[str, dict]:
    by_id: dict[str, dict] = {}
    for idx, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        iid = item.get("id")
        where = f"{section}[{idx}]"
        if not isinstance(iid, str) or not pattern.match(iid):
            rep.error(f"{where}: invalid id {iid!r}")
            continue
        if iid in by_id:
            rep.error(f"{section}: duplicate id {iid!r}")
            continue
        by_id[iid] = item
    return by_id


def parse_strength(strength: str):
    """Return list of (number, unit) or None when malformed."""
    parts = []
    for raw in strength.split("/"):
        m = AMOUNT_RE.match(raw) if raw == raw.strip() else None
        if not m:
            return None
        number, unit = m.group(1), m.group(2)
        if unit not in STRENGTH_UNITS:
            return None
        if (len(number) > 1 and number.startswith("0") and not number.startswith("0.")) or float(number) <= 0:
            return None
        parts.append((float(number), unit))
    return parts


def validate(kb, rep: Report) -> dict:
    stats: dict = {}
    if not isinstance(kb, dict):
        rep.error("top level must be a JSON object")
        return stats
    keys = list(kb.keys())
    missing = [k for k in TOP_KEYS if k not in kb]
    unknown = [k for k in keys if k not in TOP_KEYS + OPTIONAL_TOP_KEYS]
    if missing:
        rep.error(f"top level: missing key(s) {missing}")
    if unknown:
        rep.error(f"top level: unknown key(s) {unknown}")
    order = TOP_KEYS + OPTIONAL_TOP_KEYS
    if [k for k in keys if k in order] != [k for k in order if k in kb]:
        rep.warn(f"top level: keys are not in the usual order {order}")

    version = kb.get("version")
    if not isinstance(version, str) or not VERSION_RE.match(version):
        rep.error(f"version must look like YYYY.M.N, got {version!r}")
    check_text(rep, "title", kb.get("title"), "title")
    check_str_list(rep, "sources", kb.get("sources"), "sources", allow_empty=False)

    lists = {}
    for key in ["classes", "ingredients", "medicines", "cross_reactivity", "interactions"]:
        value = kb.get(key, [])
        if not isinstance(value, list):
            rep.error(f"{key} must be a list")
            value = []
        lists[key] = value

    # ---------------------------------------------------------------- classes
    for idx, c in enumerate(lists["classes"]):
        where = f"classes[{idx}] ({c.get('id') if isinstance(c, dict) else '?'})"
        if check_object(rep, where, c, CLASS_KEYS):
            check_text(rep, where, c["name"], "name")
            check_str_list(rep, where, c["parents"], "parents")
            check_str_list(rep, where, c["synonyms"], "synonyms")
    classes = check_ids(rep, "classes", lists["classes"], ID_RE)

    parents: dict[str, list[str]] = {}
    for cid, c in classes.items():
        ps = c.get("parents") if isinstance(c.get("parents"), list) else []
        good = []
        for p in ps:
            if p == cid:
                rep.error(f"class {cid!r}: lists itself as a parent")
            elif p not in classes:
                rep.error(f"class {cid!r}: unknown parent {p!r}")
            else:
                good.append(p)
        parents[cid] = good

    # cycle detection (iterative DFS with colours)
    colour = {cid: 0 for cid in classes}
    for start in classes:
        if colour[start]:
            continue
        stack = [(start, iter(parents[start]))]
        path = [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour[nxt] == 1:
                cyc = path[path.index(nxt):] + [nxt]
                rep.error(f"class hierarchy cycle: {' -> '.join(cyc)}")
                colour[nxt] = 2
            elif colour[nxt] == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(parents[nxt])))
                path.append(nxt)

    ancestor_cache: dict[str, set[str]] = {}

    def ancestors(cid: str, seen=None) -> set[str]:
        if cid in ancestor_cache:
            return ancestor_cache[cid]
        seen = set() if seen is None else seen
        if cid in seen:
            return set()
        seen.add(cid)
        out = {cid}
        for p in parents.get(cid, []):
            out |= ancestors(p, seen)
        ancestor_cache[cid] = out
        return out

    # ---------------------------------------------------------------- ingredients
    for idx, i in enumerate(lists["ingredients"]):
        where = f"ingredients[{idx}] ({i.get('id') if isinstance(i, dict) else '?'})"
        if check_object(rep, where, i, INGREDIENT_KEYS):
            check_text(rep, where, i["name"], "name")
            check_str_list(rep, where, i["classes"], "classes", allow_empty=False)
            check_str_list(rep, where, i["synonyms"], "synonyms")
    ingredients = check_ids(rep, "ingredients", lists["ingredients"], ID_RE)

    direct_classes: dict[str, set[str]] = {}
    for iid, i in ingredients.items():
        cls = i.get("classes") if isinstance(i.get("classes"), list) else []
        for c in cls:
            if c not in classes:
                rep.error(f"ingredient {iid!r}: unknown class {c!r}")
        direct_classes[iid] = {c for c in cls if c in classes}
        if not cls:
            rep.error(f"ingredient {iid!r}: must belong to at least one class")

    def expanded(iid: str) -> set[str]:
        out: set[str] = set()
        for c in direct_classes.get(iid, ()):
            out |= ancestors(c)
        return out

    members: dict[str, set[str]] = defaultdict(set)  # class -> ingredients (including via subclasses)
    for iid in ingredients:
        for c in expanded(iid):
            members[c].add(iid)

    # ---------------------------------------------------------------- labels (allergy matching)
    label_owner: dict[str, str] = {}
    for kind, table in (("class", classes), ("ingredient", ingredients)):
        for eid, e in table.items():
            labels = [e.get("name", "")] + list(e.get("synonyms") or [])
            seen_here: set[str] = set()
            for lab in labels:
                if not isinstance(lab, str):
                    continue
                norm = normalize_label(lab)
                if not norm:
                    rep.error(f"{kind} {eid!r}: label {lab!r} has no letters or digits")
                    continue
                if lab.casefold() in seen_here:
                    rep.error(f"{kind} {eid!r}: label {lab!r} repeats its name or another synonym")
                    continue
                # spelling variants that differ only in punctuation ("beta-lactam"/"beta lactam") are fine
                seen_here.add(lab.casefold())
                owner = f"{kind} {eid}"
                if norm in label_owner and label_owner[norm] != owner:
                    rep.error(f"label {lab!r} is used by both {label_owner[norm]} and {owner}; allergy matching would be ambiguous")
                else:
                    label_owner[norm] = owner

    # The app matches free text by whole words: every name/synonym whose words appear
    # contiguously in what was typed names its class or ingredient.
    terms = [(normalize_label(lab).split(), owner) for lab, owner in
             ((lab, f"{kind} {eid}") for kind, table in (("class", classes), ("ingredient", ingredients))
              for eid, e in table.items()
              for lab in [e.get("name", "")] + list(e.get("synonyms") or []) if isinstance(lab, str))
             if normalize_label(lab)]

    def targets(text: str) -> set[str]:
        said = normalize_label(text).split()
        return {owner for words, owner in terms
                if any(said[k:k + len(words)] == words for k in range(len(said) - len(words) + 1))}

    for label in REQUIRED_ALLERGENS:
        hit = targets(label)
        if len(hit) > 1:
            rep.error(f"allergen label {label!r} names several entries {sorted(hit)}; it should name exactly one")
    for label in NON_MEDICINE_ALLERGENS:
        hit = targets(label)
        if hit:
            rep.error(f"non-medicine allergen {label!r} wrongly names {sorted(hit)}")

    for label, want in REQUIRED_ALLERGENS.items():
        owner = label_owner.get(normalize_label(label))
        if owner is None:
            rep.error(f"allergen label {label!r} does not match any class or ingredient name/synonym")
        elif want == "class" and not owner.startswith("class "):
            rep.error(f"allergen label {label!r} must match a class, but matches {owner}")
        elif want == "ingredient" and not owner.startswith("ingredient "):
            rep.error(f"allergen label {label!r} must match an ingredient, but matches {owner}")

    # ---------------------------------------------------------------- medicines
    for idx, m in enumerate(lists["medicines"]):
        where = f"medicines[{idx}] ({m.get('id') if isinstance(m, dict) else '?'})"
        check_object(rep, where, m, MEDICINE_KEYS)
    medicines = check_ids(rep, "medicines", lists["medicines"], ID_RE)
    seen_products: dict[tuple, str] = {}
    used_ingredients: set[str] = set()
    for mid, m in medicines.items():
        where = f"medicine {mid!r}"
        if not MEDICINE_KEYS <= m.keys():
            continue
        check_text(rep, where, m["generic"], "generic")
        ings = check_str_list(rep, where, m["ingredients"], "ingredients", allow_empty=False)
        for i in ings:
            if i not in ingredients:
                rep.error(f"{where}: unknown ingredient {i!r}")
            else:
                used_ingredients.add(i)
        form, route, unit, strength = m["form"], m["route"], m["unit"], m["strength"]
        if form not in FORMS:
            rep.error(f"{where}: form {form!r} not one of {sorted(FORMS)}")
        if route not in ROUTES:
            rep.error(f"{where}: route {route!r} not one of {sorted(ROUTES)}")
        if unit not in UNITS:
            rep.error(f"{where}: unit {unit!r} not one of {sorted(UNITS)}")
        if form in FORM_UNITS and unit in UNITS and unit not in FORM_UNITS[form]:
            rep.error(f"{where}: unit {unit!r} does not fit form {form!r} (expected one of {sorted(FORM_UNITS[form])})")
        if form in FORM_ROUTES and route in ROUTES and route not in FORM_ROUTES[form]:
            rep.error(f"{where}: route {route!r} does not fit form {form!r} (expected one of {sorted(FORM_ROUTES[form])})")
        parts = parse_strength(strength) if isinstance(strength, str) else None
        if parts is None:
            rep.error(f"{where}: malformed strength {strength!r} (use '500 mg', '875 mg/125 mg' or '250 mg/5 ml'; "
                      f"units {sorted(STRENGTH_UNITS)})")
        elif ings:
            n = len(ings)
            if n == 1:
                if len(parts) == 1:
                    if parts[0][1] == "ml":
                        rep.error(f"{where}: strength {strength!r} is only a volume")
                    elif form in PER_VOLUME_FORMS and parts[0][1] != "%":
                        rep.error(f"{where}: liquid form {form!r} needs a per-volume strength like '250 mg/5 ml'")
                elif len(parts) == 2 and parts[1][1] == "ml" and parts[0][1] != "ml":
                    pass  # per-volume form, e.g. 250 mg/5 ml
                else:
                    rep.error(f"{where}: single-ingredient strength {strength!r} must be '<amount>' or '<amount>/<volume> ml'")
            else:
                if len(parts) != n:
                    rep.error(f"{where}: combination of {n} ingredients needs {n} '/'-separated amounts, got {strength!r}")
                elif any(u == "ml" for _, u in parts):
                    rep.error(f"{where}: combination strength {strength!r} must not contain a volume")
        key = (normalize_label(str(m["generic"])), strength, form)
        if key in seen_products:
            rep.error(f"{where}: duplicates medicine {seen_products[key]!r} (same generic, strength and form)")
        else:
            seen_products[key] = mid

    # ---------------------------------------------------------------- rule references
    def resolve(ref, where: str) -> set[str] | None:
        if not isinstance(ref, str):
            rep.error(f"{where}: reference must be a string")
            return None
        if ref.startswith("class:"):
            cid = ref[len("class:"):]
            if cid not in classes:
                rep.error(f"{where}: unknown class {cid!r}")
                return None
            if not members.get(cid):
                rep.error(f"{where}: class {cid!r} has no ingredients, so the rule can never fire")
            return set(members.get(cid, ()))
        if ref not in ingredients:
            rep.error(f"{where}: unknown ingredient {ref!r} (use 'class:<id>' for classes)")
            return None
        return {ref}

    # ---------------------------------------------------------------- interactions
    for idx, r in enumerate(lists["interactions"]):
        where = f"interactions[{idx}] ({r.get('id') if isinstance(r, dict) else '?'})"
        check_object(rep, where, r, INTERACTION_KEYS)
    interactions = check_ids(rep, "interactions", lists["interactions"], RULE_ID_RE)
    pair_seen: dict[frozenset, str] = {}
    resolved_rules: list[tuple[str, set[str], set[str], str]] = []
    sev_count: Counter = Counter()
    onc_ids: list[str] = []
    for rid, r in interactions.items():
        where = f"interaction {rid!r}"
        if not INTERACTION_KEYS <= r.keys():
            continue
        a, b = r["a"], r["b"]
        sa, sb = resolve(a, where + " a"), resolve(b, where + " b")
        if a == b and not (isinstance(a, str) and a.startswith("class:")):
            rep.error(f"{where}: an ingredient cannot interact with itself")
        key = frozenset([a, b]) if a != b else frozenset([a])
        if key in pair_seen:
            rep.error(f"{where}: same pair as {pair_seen[key]!r}")
        else:
            pair_seen[key] = rid
        if r["severity"] not in INTERACTION_SEVERITIES:
            rep.error(f"{where}: severity {r['severity']!r} not one of {sorted(INTERACTION_SEVERITIES)}")
        else:
            sev_count[r["severity"]] += 1
        if not isinstance(r["onc_high_priority"], bool):
            rep.error(f"{where}: onc_high_priority must be true or false")
        elif r["onc_high_priority"]:
            onc_ids.append(rid)
        if check_text(rep, where, r["text"], "text") and sentences(r["text"]) > 2:
            rep.error(f"{where}: text should be at most 2 sentences")
        if check_text(rep, where, r["management"], "management") and sentences(r["management"]) > 1:
            rep.error(f"{where}: management should be 1 sentence")
        if sa is not None and sb is not None:
            resolved_rules.append((rid, sa, sb, r["severity"]))

    wn = [rid for rid, r in interactions.items() if {r.get("a"), r.get("b")} == {"warfarin", "class:nsaids"}]
    if not wn:
        rep.error("missing interaction between 'warfarin' and 'class:nsaids'")
    for rid in wn:
        if interactions[rid].get("severity") != "high":
            rep.error(f"interaction {rid!r} (warfarin + NSAIDs) must have severity 'high'")

    # ---------------------------------------------------------------- cross-reactivity
    for idx, x in enumerate(lists["cross_reactivity"]):
        where = f"cross_reactivity[{idx}] ({x.get('id') if isinstance(x, dict) else '?'})"
        check_object(rep, where, x, CROSS_KEYS)
    cross = check_ids(rep, "cross_reactivity", lists["cross_reactivity"], RULE_ID_RE)
    cross_pairs: dict[tuple, str] = {}
    resolved_cross: list[tuple[str, str, str]] = []
    for xid, x in cross.items():
        where = f"cross-reactivity {xid!r}"
        if not CROSS_KEYS <= x.keys():
            continue
        ok = True
        for field in ("allergy", "drug"):
            if x[field] not in classes:
                rep.error(f"{where}: {field} {x[field]!r} is not a class id")
                ok = False
            elif not members.get(x[field]):
                rep.error(f"{where}: {field} class {x[field]!r} has no ingredients")
        if x["severity"] not in CROSS_SEVERITIES:
            rep.error(f"{where}: severity {x['severity']!r} not one of {sorted(CROSS_SEVERITIES)}")
        pair = (x["allergy"], x["drug"])
        if pair in cross_pairs:
            rep.error(f"{where}: same allergy/drug pair as {cross_pairs[pair]!r}")
        cross_pairs[pair] = xid
        if check_text(rep, where, x["text"], "text") and sentences(x["text"]) > 2:
            rep.error(f"{where}: text should be at most 2 sentences")
        if check_text(rep, where, x["management"], "management") and sentences(x["management"]) > 1:
            rep.error(f"{where}: management should be 1 sentence")
        if ok:
            # Sulfonamide antibiotic allergy is not cross-reactive with non-antibiotic sulfonamides.
            for mine, other in ((x["allergy"], x["drug"]), (x["drug"], x["allergy"])):
                if "sulfonamide-antibiotics" in ancestors(mine) and "antibacterials" in classes \
                        and "antibacterials" not in ancestors(other):
                    rep.error(f"{where}: links sulfonamide antibiotics to non-antibiotic class {other!r}; "
                              "there is no evidence of such cross-reactivity")
            resolved_cross.append((xid, x["allergy"], x["drug"]))
    for allergy, drug, sev in REQUIRED_CROSS:
        xid = cross_pairs.get((allergy, drug))
        if xid is None:
            rep.error(f"missing cross-reactivity rule {allergy}~{drug}")
        elif cross[xid].get("severity") != sev:
            rep.error(f"cross-reactivity {xid!r} should have severity {sev!r}")

    # ---------------------------------------------------------------- optional duplicate-therapy classes
    if "duplicate_therapy_classes" in kb:
        dup = check_str_list(rep, "duplicate_therapy_classes", kb["duplicate_therapy_classes"], "value")
        for c in dup:
            if c not in classes:
                rep.error(f"duplicate_therapy_classes: unknown class {c!r}")
        for x, y in NO_ALERT_PAIRS:
            if x in ingredients and y in ingredients:
                shared = expanded(x) & expanded(y) & set(dup)
                if shared:
                    rep.error(f"duplicate_therapy_classes {sorted(shared)} would flag {x} + {y}, which must produce no alert")

    # ---------------------------------------------------------------- required ids
    for cid in REQUIRED_CLASSES:
        if cid not in classes:
            rep.error(f"required class {cid!r} is missing")
    for iid in REQUIRED_INGREDIENTS:
        if iid not in ingredients:
            rep.error(f"required ingredient {iid!r} is missing")
    for iid, syn in REQUIRED_SYNONYMS.items():
        if iid in ingredients and syn not in (ingredients[iid].get("synonyms") or []):
            rep.error(f"ingredient {iid!r} must have synonym {syn!r}")
    for iid, cls in REQUIRED_INGREDIENT_CLASSES.items():
        for c in cls:
            if iid in ingredients and c not in direct_classes.get(iid, set()):
                rep.error(f"ingredient {iid!r} must be in class {c!r}")
    for mid in REQUIRED_MEDICINES:
        if mid not in medicines:
            rep.error(f"required medicine {mid!r} is missing")

    # ---------------------------------------------------------------- "no alert" pairs
    for x, y in NO_ALERT_PAIRS:
        if x not in ingredients or y not in ingredients:
            continue
        for rid, sa, sb, _ in resolved_rules:
            if (x in sa and y in sb) or (y in sa and x in sb):
                rep.error(f"interaction {rid!r} fires for {x} + {y}, which must produce no alert")
        for xid, allergy, drug in resolved_cross:
            for p, q in ((x, y), (y, x)):
                if allergy in expanded(p) and drug in expanded(q):
                    rep.error(f"cross-reactivity {xid!r} fires for allergy to {p} when prescribing {q}, "
                              "which must produce no alert")

    # ---------------------------------------------------------------- soft checks
    empty_classes = sorted(cid for cid in classes if not members.get(cid))
    if empty_classes:
        rep.warn(f"classes without ingredients (allowed, e.g. for allergy labels only): {', '.join(empty_classes)}")
    unused = sorted(set(ingredients) - used_ingredients)
    stats.update(
        classes=len(classes), ingredients=len(ingredients), medicines=len(medicines),
        medicine_ingredients=len(used_ingredients), ingredients_without_medicine=unused,
        interactions=len(interactions), severities=dict(sev_count), onc=onc_ids,
        cross=len(cross),
    )
    if len(medicines) < MIN_MEDICINES:
        rep.error(f"only {len(medicines)} medicines; at least {MIN_MEDICINES} expected")
    if len(ingredients) < MIN_INGREDIENTS:
        rep.error(f"only {len(ingredients)} ingredients; at least {MIN_INGREDIENTS} expected")
    return stats


def canonical_dump(kb: dict) -> str:
    out = ["{"]
    keys = list(kb)
    for i, k in enumerate(keys):
        v = kb[k]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(v, list):
            out.append(f"  {json.dumps(k)}: [")
            for j, item in enumerate(v):
                out.append("    " + json.dumps(item, ensure_ascii=False) + ("," if j < len(v) - 1 else ""))
            out.append("  ]" + comma)
        else:
            out.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{comma}")
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    unknown_flags = flags - {"--fix-format", "--help", "-h"}
    if "--help" in flags or unknown_flags or len(args) > 1:
        print(__doc__.strip())
        return 0 if "--help" in flags and not unknown_flags else 2
    path = Path(args[0]) if args else DEFAULT_PATH
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        kb = json.loads(raw, object_pairs_hook=no_duplicate_keys)
    except (json.JSONDecodeError, ValueError) as exc:
        print(f"error: {path} is not valid JSON: {exc}", file=sys.stderr)
        return 1

    rep = Report()
    stats = validate(kb, rep)
    if isinstance(kb, dict) and canonical_dump(kb) != raw:
        rep.warn("layout differs from the canonical one (one object per line inside each list); "
                 "run with --fix-format to rewrite it")

    print(f"{path}")
    if stats:
        sev = stats["severities"]
        print(f"  version             {kb.get('version')}")
        print(f"  classes             {stats['classes']}")
        print(f"  ingredients         {stats['ingredients']} ({stats['medicine_ingredients']} used by medicines)")
        print(f"  medicines           {stats['medicines']}")
        print(f"  interactions        {stats['interactions']} (high {sev.get('high', 0)}, "
              f"moderate {sev.get('moderate', 0)}, low {sev.get('low', 0)})")
        print(f"  ONC high-priority   {len(stats['onc'])} entries")
        print(f"  cross-reactivity    {stats['cross']}")
    for w in rep.warnings:
        print(f"warning: {w}")
    for e in rep.errors:
        print(f"ERROR: {e}", file=sys.stderr)
    if rep.errors:
        print(f"FAILED: {len(rep.errors)} error(s)", file=sys.stderr)
        return 1
    if "--fix-format" in flags:
        formatted = canonical_dump(kb)
        if formatted != raw:
            path.write_text(formatted, encoding="utf-8")
            print("rewrote file in canonical layout")
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
