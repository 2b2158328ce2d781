//! [`StoreBuilder`]: configures and builds a [`Store`].

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use igniter_store_names::{NameKind, check};

use crate::actor::{ActorDef, NoActors, StoreActors};
use crate::adapter::{Backend, StoreAdapter};
use crate::engine::Shared;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::events::EventRegistry;
use crate::key::KeySpace;
use crate::scope::{Chain, NoScopes, ScopePosition, StoreScopes, validate_scopes};
use crate::serializer::{JsonSerializer, Serializer};
use crate::store::Store;

/// The key prefix a store uses unless told otherwise, as in the TypeScript
/// package.
pub const DEFAULT_PREFIX: &str = "igniter:store";

/// The deadline of every operation unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The adapter of a builder before [`StoreBuilder::adapter`]: `build` needs
/// one, so forgetting it is a compile error that names it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAdapter;

/// The service of a builder before [`StoreBuilder::service`]: `build` needs
/// one, so forgetting it is a compile error that names it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoService;

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::adapter::Backend {}
    impl Sealed for String {}
}

/// The adapter slot of a builder once given (a [`Backend`]); `build` needs
/// it.
#[diagnostic::on_unimplemented(
    message = "the store has no adapter: call `.adapter(..)` before `.build()`",
    label = "this builder has no adapter yet",
    note = "for example `.adapter(MemoryAdapter::new())`, `.adapter(RedisAdapter::connect(url).await?)`, or `.shared_adapter(backend)` to share one"
)]
pub trait HasAdapter: sealed::Sealed {
    #[doc(hidden)]
    fn into_backend(self) -> Backend;
}

impl HasAdapter for Backend {
    fn into_backend(self) -> Backend {
        self
    }
}

/// The service slot of a builder once given (a `String`); `build` needs it.
#[diagnostic::on_unimplemented(
    message = "the store has no service: call `.service(\"name\")` before `.build()`",
    label = "this builder has no service yet",
    note = "the service name is the key segment after the prefix: `igniter:store:<service>:..`"
)]
pub trait HasService: sealed::Sealed {
    #[doc(hidden)]
    fn into_service(self) -> String;
}

impl HasService for String {
    fn into_service(self) -> String {
        self
    }
}

/// Configures a [`Store`]; start with [`Store::builder`].
///
/// Every setter consumes the builder and returns the next one. The adapter
/// and the service are required (type-checked); the rest has defaults: key
/// prefix [`DEFAULT_PREFIX`], no scopes, no actors, [`JsonSerializer`], a
/// deadline of [`DEFAULT_TIMEOUT`] on every operation.
///
/// ```
/// use std::time::Duration;
/// use igniter_store::{MemoryAdapter, Store};
///
/// let store = Store::builder()
///     .adapter(MemoryAdapter::new())
///     .service("billing-api")
///     .prefix("acme:store")
///     .timeout(Duration::from_secs(2))
///     .build()
///     .unwrap();
/// assert_eq!(store.kv().key("x").unwrap(), "acme:store:billing-api:kv:x");
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct StoreBuilder<Ad, Sv, S = NoScopes, A = NoActors, Z = JsonSerializer> {
    adapter: Ad,
    service: Sv,
    serializer: Z,
    settings: Settings,
    _marker: PhantomData<fn() -> (S, A)>,
}

/// What the builder holds that does not change its type.
struct Settings {
    prefix: String,
    timeout: Option<Duration>,
    events: Vec<EventRegistry>,
    scope_hash_tag: bool,
    max_value_size: Option<usize>,
}

impl<Ad, Sv, S, A, Z> fmt::Debug for StoreBuilder<Ad, Sv, S, A, Z> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBuilder")
            .field("prefix", &self.settings.prefix)
            .field("timeout", &self.settings.timeout)
            .finish_non_exhaustive()
    }
}

impl StoreBuilder<NoAdapter, NoService> {
    pub(crate) fn new() -> Self {
        StoreBuilder {
            adapter: NoAdapter,
            service: NoService,
            serializer: JsonSerializer,
            settings: Settings {
                prefix: DEFAULT_PREFIX.to_owned(),
                timeout: Some(DEFAULT_TIMEOUT),
                events: Vec::new(),
                scope_hash_tag: false,
                max_value_size: None,
            },
            _marker: PhantomData,
        }
    }
}

impl<Ad, Sv, S, A, Z> StoreBuilder<Ad, Sv, S, A, Z> {
    /// The backend: [`MemoryAdapter`](crate::MemoryAdapter) or another
    /// [`StoreAdapter`].
    pub fn adapter(self, adapter: impl StoreAdapter) -> StoreBuilder<Backend, Sv, S, A, Z> {
        self.shared_adapter(adapter.into_backend())
    }

    /// The backend, already made ([`StoreAdapter::into_backend`],
    /// [`Backend::new`]): several stores share one adapter by each taking a
    /// clone of its `Backend`, which is cheap.
    pub fn shared_adapter(self, backend: Backend) -> StoreBuilder<Backend, Sv, S, A, Z> {
        self_with(self.settings, backend, self.service, self.serializer)
    }

    /// The service name, the key segment after the prefix. It must follow the
    /// name rules (no `:`, `.`, white space, glob characters or braces),
    /// checked by `build` (`STORE_CONFIGURATION_INVALID`).
    pub fn service(self, service: impl Into<String>) -> StoreBuilder<Ad, String, S, A, Z> {
        self_with(self.settings, self.adapter, service.into(), self.serializer)
    }

    /// The key prefix, `igniter:store` by default. Segments are separated by
    /// `:`; each follows the service name's rules.
    ///
    /// A store's keys are everything under `<prefix>:<service>:`. `build`
    /// refuses (`STORE_CONFIGURATION_INVALID`) a prefix and service that put
    /// the store inside the key space of a store of the default layout
    /// (`igniter:store:<service>:`), or that put every such store inside
    /// this one's: a prefix other than `igniter:store` whose
    /// `<prefix>:<service>:` starts with `igniter:store:` (such as
    /// `igniter:store:billing`), or one whose `<prefix>:<service>:` is a
    /// start of `igniter:store:` (prefix `igniter` with service `store`).
    /// Between custom prefixes the same rule is the operator's to keep: no
    /// store's `<prefix>:<service>:` may start another's.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.prefix = prefix.into();
        self
    }

    /// The scope set, usually a `#[derive(StoreScopes)]` enum.
    pub fn scopes<S2: StoreScopes + ScopePosition<Scopes = S2>>(
        self,
    ) -> StoreBuilder<Ad, Sv, S2, A, Z> {
        self_with(self.settings, self.adapter, self.service, self.serializer)
    }

    /// The actor set.
    pub fn actors<A2: StoreActors>(self) -> StoreBuilder<Ad, Sv, S, A2, Z> {
        self_with(self.settings, self.adapter, self.service, self.serializer)
    }

    /// The serializer of values, [`JsonSerializer`] by default.
    pub fn serializer<Z2: Serializer>(self, serializer: Z2) -> StoreBuilder<Ad, Sv, S, A, Z2> {
        self_with(self.settings, self.adapter, self.service, serializer)
    }

    /// Registers a namespace of events (`user::REGISTRY`,
    /// `Billing::REGISTRY`). Registering is optional: a typed [`Channel`]
    /// can be published and subscribed without it, since the compiler has
    /// already checked it. Registering lets `build` refuse two declarations of
    /// one namespace (`STORE_DUPLICATE_NAMESPACE`) and names that break the
    /// rules in a hand-written registry, and lists the namespaces in
    /// [`Store::event_registries`].
    ///
    /// [`Channel`]: crate::Channel
    pub fn events(mut self, registry: EventRegistry) -> Self {
        self.settings.events.push(registry);
        self
    }

    /// Refuses, before any I/O, every value whose encoding is longer than
    /// `bytes` (kv values, batch entries — the whole batch —, claim owners,
    /// stream messages and event envelopes) with `STORE_VALUE_TOO_LARGE`,
    /// whose details give the `size` and the `limit`. No limit by default.
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.settings.max_value_size = Some(bytes);
        self
    }

    /// Writes the outermost scope of every key as a Redis Cluster hash tag:
    /// `igniter:store:svc:{organization:org_1}:kv:x`. Every key of one tenant
    /// (its whole scope chain) then lands in one slot, so its batches are
    /// atomic on a cluster and its multi-key work touches one node.
    ///
    /// Off by default, so keys stay those of the TypeScript package; a store
    /// with it on does not see the keys of a store with it off. The price: a
    /// busy tenant is a busy slot, on one node. Braces in identifiers are
    /// escaped, so no identifier can change the tag.
    pub fn scope_hash_tag(mut self) -> Self {
        self.settings.scope_hash_tag = true;
        self
    }

    /// The deadline of every operation ([`DEFAULT_TIMEOUT`] by default): an
    /// operation that has not finished by then fails with `STORE_TIMEOUT`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// No deadline: operations wait as long as the adapter does.
    pub fn no_timeout(mut self) -> Self {
        self.settings.timeout = None;
        self
    }
}

fn self_with<Ad, Sv, S, A, Z>(
    settings: Settings,
    adapter: Ad,
    service: Sv,
    serializer: Z,
) -> StoreBuilder<Ad, Sv, S, A, Z> {
    StoreBuilder {
        adapter,
        service,
        serializer,
        settings,
        _marker: PhantomData,
    }
}

impl<Ad, Sv, S, A, Z> StoreBuilder<Ad, Sv, S, A, Z> {
    /// Checks the configuration and builds the store.
    ///
    /// Errors: `STORE_SERVICE_REQUIRED` (empty service),
    /// `STORE_CONFIGURATION_INVALID` (service or prefix breaking the name
    /// rules, a prefix and service inside the default layout's key space or
    /// holding it, see [`prefix`](Self::prefix), zero timeout), `STORE_INVALID_SCOPE_KEY` /
    /// `STORE_DUPLICATE_SCOPE` (a hand-written scope set breaking the rules
    /// the derive enforces at compile time).
    ///
    /// Exists once `.adapter(..)` and `.service(..)` are given: without
    /// either it does not compile, and the message says which is missing.
    pub fn build(self) -> StoreResult<Store<S, A, Z>>
    where
        Ad: HasAdapter,
        Sv: HasService,
        S: StoreScopes + ScopePosition<Scopes = S>,
        A: StoreActors,
        Z: Serializer,
    {
        #[cfg(feature = "metrics")]
        crate::telemetry::metrics::describe();
        let adapter = self.adapter.into_backend();
        let service = self.service.into_service();
        if service.is_empty() {
            return Err(StoreError::new(
                ErrorCode::ServiceRequired,
                "a service name is required",
            ));
        }
        check(NameKind::Service, &service).map_err(|e| {
            StoreError::new(
                ErrorCode::ConfigurationInvalid,
                format!("invalid service name: {e}"),
            )
        })?;
        for segment in self.settings.prefix.split(':') {
            check(NameKind::Service, segment).map_err(|e| {
                StoreError::new(
                    ErrorCode::ConfigurationInvalid,
                    format!("invalid key prefix segment: {e}"),
                )
            })?;
        }
        check_key_space(&self.settings.prefix, &service)?;
        if self.settings.timeout.is_some_and(|t| t.is_zero()) {
            return Err(StoreError::new(
                ErrorCode::ConfigurationInvalid,
                "the operation deadline must be longer than zero",
            ));
        }
        let required = validate_scopes(S::SCOPES)?;
        validate_actors(A::ACTORS)?;
        validate_registries(&self.settings.events)?;
        let root = Chain::root(KeySpace::root(&self.settings.prefix, &service));
        let shared = Shared {
            backend: adapter,
            #[cfg(feature = "metrics")]
            service_label: metrics::SharedString::from_shared(std::sync::Arc::from(
                service.as_str(),
            )),
            service: service.into_boxed_str(),
            serializer: self.serializer,
            timeout: self.settings.timeout,
            scopes: S::SCOPES,
            required,
            registries: self.settings.events,
            scope_hash_tag: self.settings.scope_hash_tag,
            max_value_size: self.settings.max_value_size,
        };
        Ok(Store::from_parts(shared, root))
    }
}

/// Refuses a prefix and service whose key space overlaps the default
/// layout's stores other than as one of them (issue 13, item 8). A store owns
/// every key under `<prefix>:<service>:`: its root purge deletes them, and an
/// ACL key pattern `~<prefix>:<service>:*` is what confines its credential.
/// If that space held another store's keys (prefix `igniter:store:billing`:
/// inside service `billing`; prefix `igniter:store:billing:organization`
/// with service `acme`: tenant `acme` of `billing`), the purge, the scans and
/// the ACL would reach them. Segments are already checked (no empty one, no
/// glob characters), so comparing the strings with a trailing `:` is
/// comparing whole segments.
fn check_key_space(prefix: &str, service: &str) -> StoreResult<()> {
    let default_root = format!("{DEFAULT_PREFIX}:");
    let base = format!("{prefix}:{service}:");
    if prefix != DEFAULT_PREFIX && base.starts_with(&default_root) {
        return Err(StoreError::new(
            ErrorCode::ConfigurationInvalid,
            format!(
                "the key prefix `{prefix}` with service `{service}` puts the store's keys \
                 (`{base}*`) inside the key space of a store of the default layout \
                 (`{default_root}<service>:*`): a prefix under `{DEFAULT_PREFIX}` is only \
                 allowed as exactly `{DEFAULT_PREFIX}`"
            ),
        ));
    }
    if default_root.starts_with(&base) {
        return Err(StoreError::new(
            ErrorCode::ConfigurationInvalid,
            format!(
                "the key prefix `{prefix}` with service `{service}` gives the store the key \
                 space `{base}*`, which holds every store of the default layout \
                 (`{default_root}*`): choose a prefix and service whose `<prefix>:<service>:` \
                 is not a start of `{default_root}`"
            ),
        ));
    }
    Ok(())
}

fn validate_actors(actors: &[ActorDef]) -> StoreResult<()> {
    for (i, def) in actors.iter().enumerate() {
        if def.key().is_empty() {
            return Err(StoreError::new(
                ErrorCode::ActorKeyRequired,
                "an actor key must not be empty",
            ));
        }
        check(NameKind::Actor, def.key()).map_err(|e| {
            StoreError::new(ErrorCode::InvalidActorKey, e.to_string())
                .with_detail("actorKey", def.key())
        })?;
        if actors[..i].iter().any(|d| d.key() == def.key()) {
            return Err(StoreError::new(
                ErrorCode::DuplicateActor,
                "an actor key is declared twice",
            )
            .with_detail("actorKey", def.key()));
        }
    }
    Ok(())
}

/// Checks registries the way the macros check declarations, for registries
/// written by hand: names, duplicates, and one registry per namespace.
fn validate_registries(registries: &[EventRegistry]) -> StoreResult<()> {
    for (i, registry) in registries.iter().enumerate() {
        let namespace = registry.namespace();
        check(NameKind::Namespace, namespace).map_err(|e| {
            let code = if e.problem() == igniter_store_names::NameProblem::Reserved {
                ErrorCode::ReservedNamespace
            } else {
                ErrorCode::InvalidNamespace
            };
            StoreError::new(code, e.to_string()).with_detail("namespace", namespace)
        })?;
        if registries[..i].iter().any(|r| r.namespace() == namespace) {
            return Err(StoreError::new(
                ErrorCode::DuplicateNamespace,
                "an event namespace is registered twice",
            )
            .with_detail("namespace", namespace));
        }
        let channels = registry.channels();
        for (j, channel) in channels.iter().enumerate() {
            let name = channel.name();
            let rest = name
                .strip_prefix(namespace)
                .and_then(|r| r.strip_prefix(':'))
                .ok_or_else(|| {
                    StoreError::new(
                        ErrorCode::InvalidEventName,
                        "an event name must start with its namespace and `:`",
                    )
                    .with_detail("event", name)
                })?;
            for segment in rest.split(':') {
                check(NameKind::Event, segment).map_err(|e| {
                    StoreError::new(ErrorCode::InvalidEventName, e.to_string())
                        .with_detail("event", name)
                })?;
            }
            if channels[..j].iter().any(|c| c.name() == name) {
                return Err(StoreError::new(
                    ErrorCode::DuplicateEvent,
                    "an event is declared twice",
                )
                .with_detail("event", name));
            }
        }
    }
    Ok(())
}
