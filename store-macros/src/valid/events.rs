//! The rules of an event namespace, the same for `events!` and
//! `derive(StoreEvents)`: names follow `igniter-store-names`, no two events
//! or groups share a full name, and the Rust items made from the names
//! (constants, variants) neither collide nor fail to be identifiers.

use std::collections::{HashMap, HashSet};

use igniter_store_names::{NameKind, NameProblem};
use proc_macro2::Span;
use syn::Ident;

use crate::ast::{Event, Form, Name, NameSource, Namespace, Payload};
use crate::case::RenameRule;
use crate::ctxt::Ctxt;

/// Checks the namespaces of one `events!` invocation, each on its own and
/// together: no two share a name.
pub(crate) fn namespaces(cx: &Ctxt, namespaces: &[Namespace]) {
    if namespaces.is_empty() {
        cx.error_at(
            Span::call_site(),
            "events! declares at least one namespace: `events! { pub user { created(UserCreated) } }`",
        );
    }
    let mut first_by_name: HashMap<&str, &Name> = HashMap::new();
    for ns in namespaces {
        namespace(cx, ns);
        let Some(name) = &ns.name else { continue };
        if igniter_store_names::check(NameKind::Namespace, &name.value).is_err() {
            continue;
        }
        match first_by_name.get(name.value.as_str()) {
            None => {
                first_by_name.insert(&name.value, name);
            }
            Some(first) => {
                cx.error_at(
                    name.span,
                    format_args!(
                        "duplicate namespace `{}`: declare each namespace once, with all of its events",
                        name.value
                    ),
                );
                cx.error_at(
                    first.span,
                    format_args!("namespace `{}` first defined here", name.value),
                );
            }
        }
    }
}

/// Checks one namespace.
pub(crate) fn namespace(cx: &Ctxt, ns: &Namespace) {
    match &ns.form {
        Form::Macro { .. } => {}
        Form::Derive { ident, generics } => {
            if !generics.params.is_empty() {
                cx.error_spanned_by(
                    generics,
                    "a StoreEvents enum cannot have generic parameters",
                );
            }
            if let Some(where_clause) = &generics.where_clause {
                cx.error_spanned_by(
                    where_clause,
                    "a StoreEvents enum cannot have a where clause",
                );
            }
            if ns.name.is_none() {
                cx.error_spanned_by(
                    ident,
                    format_args!(
                        "StoreEvents needs the namespace of its events: put `#[store(namespace = \"...\")]` above `enum {ident}`"
                    ),
                );
            }
            for event in &ns.events {
                payload_shape(cx, event);
            }
        }
    }

    if let Some(name) = &ns.name {
        check_name(cx, NameKind::Namespace, name, &ns.form);
    }
    if ns.events.is_empty() {
        let msg = "declare at least one event: a namespace without events has no channel";
        let (Form::Derive { ident, .. } | Form::Macro { ident, .. }) = &ns.form;
        cx.error_spanned_by(ident, msg);
    }
    // Names in source order; the derive names a group on each variant.
    let mut names: Vec<(usize, NameKind, &Name)> = Vec::new();
    for group in &ns.groups {
        names.push((group.order, NameKind::Group, &group.name));
    }
    for event in &ns.events {
        if matches!(ns.form, Form::Derive { .. }) {
            for group in &event.groups {
                names.push((event.order, NameKind::Group, group));
            }
        }
        names.push((event.order, NameKind::Event, &event.name));
    }
    names.sort_by_key(|(order, ..)| *order);
    for (_, kind, name) in names {
        check_name(cx, kind, name, &ns.form);
    }

    for group in &ns.groups {
        let path: Vec<&str> = group.path().map(|name| name.value.as_str()).collect();
        let has_events = ns.events.iter().any(|event| {
            event.groups.len() >= path.len()
                && event.groups.iter().zip(&path).all(|(a, b)| a.value == *b)
        });
        if !has_events {
            cx.error_at(
                group.name.span,
                format_args!(
                    "the group `{}` declares no event: a group without events has no channel",
                    ns.full_name(group.path())
                ),
            );
        }
        if group.parents.is_empty() && group.name.value == "Event" {
            cx.error_at(
                group.name.span,
                "a group at the top of a namespace cannot be named `Event`: the namespace's module already holds the enum `Event` of its events",
            );
        }
    }

    let duplicates = unique_paths(cx, ns);
    rust_names(cx, ns, &duplicates);
}

/// The derive's variants each carry exactly one unnamed payload.
fn payload_shape(cx: &Ctxt, event: &Event) {
    let variant = &event.variant.value;
    match &event.payload {
        Payload::Type(_) => {}
        Payload::Missing => cx.error_at(
            event.variant.span,
            format_args!(
                "a StoreEvents variant carries one payload: write `{variant}(PayloadType)`; for an event without data, `{variant}(())`"
            ),
        ),
        Payload::Several(fields) => cx.error_spanned_by(
            fields,
            format_args!(
                "a StoreEvents variant carries exactly one payload; to carry several values, use a struct or a tuple: `{variant}((A, B))`"
            ),
        ),
        Payload::Named(fields) => cx.error_spanned_by(
            fields,
            format_args!(
                "a StoreEvents variant carries one unnamed payload: write `{variant}(PayloadType)` and put named fields in the payload's struct"
            ),
        ),
    }
}

/// Checks `name` against the rules of `kind`.
fn check_name(cx: &Ctxt, kind: NameKind, name: &Name, form: &Form) {
    let Err(err) = igniter_store_names::check(kind, &name.value) else {
        return;
    };
    let msg = match &name.source {
        NameSource::Unreadable => return,
        NameSource::Ident => err.to_string(),
        NameSource::Literal => {
            let nested = kind == NameKind::Group
                && matches!(form, Form::Derive { .. })
                && err.problem() == NameProblem::ForbiddenChar(':');
            if nested {
                format!("{err}; a variant sits in one group: declare nested groups with `events!`")
            } else {
                err.to_string()
            }
        }
        NameSource::Derived { variant, .. } => {
            format!(
                "{err}; `{}` is derived from the variant name `{variant}`{}, set another with `#[store(rename = \"...\")]`",
                name.value,
                derived_by(&name.source)
            )
        }
    };
    cx.error_at(name.span, msg);
}

/// ` by rename_all = "..."` when a rule other than the default named it.
fn derived_by(source: &NameSource) -> String {
    match source {
        NameSource::Derived { rule, .. } if *rule != RenameRule::Snake => {
            format!(" by `rename_all = \"{}\"`", rule.as_str())
        }
        _ => String::new(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum What {
    Event,
    Group,
}

impl What {
    fn noun(self) -> &'static str {
        match self {
            What::Event => "event",
            What::Group => "group",
        }
    }

    fn article(self) -> &'static str {
        match self {
            What::Event => "an",
            What::Group => "a",
        }
    }
}

/// A group or an event at its full name, for the uniqueness rules.
struct Entry<'a> {
    full: String,
    name: &'a Name,
    what: What,
    order: usize,
}

/// No two events, no two groups, and no event and group share a full name.
/// Returns the `order` of every event reported as a duplicate, whose Rust
/// names then collide for the same reason and are not reported again.
fn unique_paths(cx: &Ctxt, ns: &Namespace) -> HashSet<usize> {
    let ok = |kind, name: &Name| {
        !matches!(name.source, NameSource::Unreadable)
            && igniter_store_names::check(kind, &name.value).is_ok()
    };
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for group in &ns.groups {
        if ok(NameKind::Group, &group.name) {
            entries.push(Entry {
                full: ns.full_name(group.path()),
                name: &group.name,
                what: What::Group,
                order: group.order,
            });
        }
    }
    if matches!(ns.form, Form::Derive { .. }) {
        // The derive names a group on each of its variants: the first
        // mention stands for the group, the others are not duplicates.
        let mut seen = HashSet::new();
        for event in &ns.events {
            for (depth, group) in event.groups.iter().enumerate() {
                let full = ns.full_name(&event.groups[..=depth]);
                if ok(NameKind::Group, group) && seen.insert(full.clone()) {
                    entries.push(Entry {
                        full,
                        name: group,
                        what: What::Group,
                        order: event.order,
                    });
                }
            }
        }
    }
    for event in &ns.events {
        if ok(NameKind::Event, &event.name) {
            entries.push(Entry {
                full: ns.event_name(event),
                name: &event.name,
                what: What::Event,
                order: event.order,
            });
        }
    }
    // Stable: a derive's group comes before the event of the same variant.
    entries.sort_by_key(|entry| entry.order);

    let mut duplicates = HashSet::new();
    let mut first_by_full: HashMap<&str, &Entry<'_>> = HashMap::new();
    for entry in &entries {
        let Some(first) = first_by_full.get(entry.full.as_str()) else {
            first_by_full.insert(&entry.full, entry);
            continue;
        };
        let full = &entry.full;
        let msg = match (first.what, entry.what) {
            (What::Event, What::Event) => {
                duplicates.insert(entry.order);
                format!("duplicate event `{full}`{}", rename_hint(entry.name))
            }
            (What::Group, What::Group) => {
                format!("duplicate group `{full}`: declare each group once, with all of its events")
            }
            (first_what, what) => match &entry.name.source {
                NameSource::Derived { variant, .. } => format!(
                    "`{full}` names both a {} and an event (derived from the variant name `{variant}`{}); rename one of them, the event with `#[store(rename = \"...\")]`",
                    first_what.noun(),
                    derived_by(&entry.name.source)
                ),
                _ => format!(
                    "`{full}` names both {} {} and {} {}; rename one of them",
                    first_what.article(),
                    first_what.noun(),
                    what.article(),
                    what.noun()
                ),
            },
        };
        cx.error_at(entry.name.span, msg);
        let derived = match &first.name.source {
            NameSource::Derived { variant, .. } => {
                format!(", derived from the variant name `{variant}`")
            }
            _ => String::new(),
        };
        cx.error_at(
            first.name.span,
            format_args!("{} `{full}` first defined here{derived}", first.what.noun()),
        );
    }
    duplicates
}

/// For a name derived from a variant: how to set another.
fn rename_hint(name: &Name) -> String {
    match &name.source {
        NameSource::Derived { variant, .. } => format!(
            ", derived from the variant name `{variant}`{}; set another with `#[store(rename = \"...\")]`",
            derived_by(&name.source)
        ),
        _ => String::new(),
    }
}

/// The constants and variants made from the names are identifiers and do not
/// collide: constants within one module (`events!`) or one impl (the derive),
/// variants within the namespace's enum (`events!`; the derive's variants
/// are the user's own).
fn rust_names(cx: &Ctxt, ns: &Namespace, duplicates: &HashSet<usize>) {
    let derive = match &ns.form {
        Form::Derive { ident, .. } => Some(ident),
        Form::Macro { .. } => None,
    };
    let mut first_const = HashMap::new();
    let mut first_variant = HashMap::new();
    for event in &ns.events {
        if duplicates.contains(&event.order) {
            continue;
        }
        // A constant and a variant made from the same words collide for the
        // same reason: one error.
        let reported = constant(cx, ns, derive, event, &mut first_const);
        if derive.is_none() && !reported {
            variant(cx, ns, event, &mut first_variant);
        }
    }
}

/// Checks the constant of `event`; true when an error was reported.
fn constant<'a>(
    cx: &Ctxt,
    ns: &Namespace,
    derive: Option<&Ident>,
    event: &'a Event,
    first_const: &mut HashMap<(String, &'a str), &'a Event>,
) -> bool {
    let full = ns.event_name(event);
    let constant = event.const_name.value.as_str();
    // The module (`events!`) or impl (derive) the constant lands in.
    let scope = match derive {
        Some(_) => String::new(),
        None => ns.full_name(&event.groups),
    };
    let at_top = derive.is_some() || event.groups.is_empty();
    if event.const_name.to_ident().is_none() {
        cx.error_at(
            event.const_name.span,
            format_args!(
                "the event `{full}` makes the constant name `{constant}`, which is not a Rust identifier; rename it"
            ),
        );
    } else if at_top && constant == "REGISTRY" {
        let msg = match derive {
            Some(ident) => format!(
                "the variant `{}` makes the constant `{ident}::REGISTRY`, the registry of the enum's events; rename the variant and keep the event's name with `#[store(rename = \"...\")]`",
                event.variant.value
            ),
            None => format!(
                "the event `{full}` makes the constant `REGISTRY`, which holds the namespace's registry; rename the event, move it into a group, or keep its name by declaring the namespace with `#[derive(StoreEvents)]` and `#[store(rename = \"registry\")]`"
            ),
        };
        cx.error_at(event.const_name.span, msg);
    } else if let Some(first) = first_const.get(&(scope.clone(), constant)) {
        let (msg, note) = match derive {
            Some(ident) => (
                format!(
                    "the variants `{}` and `{}` both make the constant `{ident}::{constant}`; rename one of them",
                    first.variant.value, event.variant.value
                ),
                format!("the constant `{ident}::{constant}` first made here"),
            ),
            None => (
                format!(
                    "the events `{}` and `{full}` both make the constant `{constant}`; rename one of them",
                    ns.event_name(first)
                ),
                format!("the constant `{constant}` first made here"),
            ),
        };
        cx.error_at(event.const_name.span, msg);
        cx.error_at(first.const_name.span, note);
    } else {
        first_const.insert((scope, constant), event);
        return false;
    }
    true
}

/// Checks the variant `events!` makes for `event` in the enum `Event`.
fn variant<'a>(
    cx: &Ctxt,
    ns: &Namespace,
    event: &'a Event,
    first_variant: &mut HashMap<&'a str, &'a Event>,
) {
    let full = ns.event_name(event);
    let variant = event.variant.value.as_str();
    if event.variant.to_ident().is_none() {
        cx.error_at(
            event.variant.span,
            format_args!(
                "the event `{full}` makes the variant name `{variant}` of the enum `Event`, which is not a Rust identifier; rename the event"
            ),
        );
    } else if let Some(first) = first_variant.get(variant) {
        cx.error_at(
            event.variant.span,
            format_args!(
                "the events `{}` and `{full}` both make the variant `Event::{variant}`; rename one of them",
                ns.event_name(first)
            ),
        );
        cx.error_at(
            first.variant.span,
            format_args!("the variant `Event::{variant}` first made here"),
        );
    } else {
        first_variant.insert(variant, event);
    }
}
