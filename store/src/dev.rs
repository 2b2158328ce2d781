//! Key scanning ([`Dev`]) and purging a scope.

use crate::engine::call;
use std::collections::{HashSet, VecDeque};
use std::future::IntoFuture;
use std::pin::pin;

use futures::Stream;

use crate::adapter::ScanCursor;
use crate::engine::Core;
use crate::engine::StoreFuture;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::key::Namespace;
use crate::serializer::Serializer;
use crate::telemetry::op;

/// Page size of [`Dev::scan`] unless told otherwise, as Redis's SCAN.
pub const DEFAULT_SCAN_COUNT: usize = 10;

const PURGE_PAGE: usize = 1000;

/// Key scanning over the `kv` namespace of one scope chain; from
/// [`Store::dev`](crate::Store::dev).
///
/// Patterns use Redis's glob rules (`* ? [abc] [^a] [a-z] \x`) and apply to
/// the keys as the scope sees them: the scope's own prefix is fixed and
/// escaped, so a pattern can never reach another scope's keys, and keys come
/// back relative to the scope.
///
/// ```
/// use futures::TryStreamExt;
/// use igniter_store::{MemoryAdapter, Store};
///
/// # async fn run() -> Result<(), igniter_store::StoreError> {
/// let store = Store::builder().adapter(MemoryAdapter::new()).service("api").build()?;
/// for i in 0..25 {
///     store.kv().set(&format!("user:{i}"), &i).await?;
/// }
/// let page = store.dev().scan("user:*").count(10).await?;
/// assert!(page.keys.iter().all(|k| k.starts_with("user:")));
///
/// let mut all: Vec<String> = store.dev().scan_all("user:*").try_collect().await?;
/// assert_eq!(all.len(), 25);
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(run()).unwrap();
/// ```
#[derive(Debug)]
pub struct Dev<'a, Z> {
    core: &'a Core<Z>,
}

/// One page of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanPage {
    /// Matching keys of this page, relative to the scope (`user:1`).
    pub keys: Vec<String>,
    /// Where to continue; `None` when the scan is over.
    pub cursor: Option<ScanCursor>,
}

impl<'a, Z: Serializer> Dev<'a, Z> {
    pub(crate) fn new(core: &'a Core<Z>) -> Self {
        Dev { core }
    }

    /// One page of kv keys matching `pattern`; await it, after `.count(..)`
    /// and `.cursor(..)` as needed. A page may hold fewer keys than `count`,
    /// even none, before the scan is over: follow the cursor until `None`.
    pub fn scan(&self, pattern: &'a str) -> Scan<'a, Z> {
        Scan {
            core: self.core,
            pattern,
            count: DEFAULT_SCAN_COUNT,
            cursor: ScanCursor::start(),
        }
    }

    /// Every kv key matching `pattern`, each once, as a stream that follows
    /// the cursor page by page (pages of 100). A key present for the whole
    /// scan is yielded; one written or removed meanwhile may or may not be.
    /// The stream ends after the first error it yields.
    pub fn scan_all(
        &self,
        pattern: &str,
    ) -> impl Stream<Item = StoreResult<String>> + Send + 'static {
        struct State<Z> {
            core: Core<Z>,
            pattern: String,
            cursor: Option<ScanCursor>,
            seen: HashSet<String>,
            ready: VecDeque<String>,
        }
        let state = State {
            core: self.core.clone(),
            pattern: pattern.to_owned(),
            cursor: Some(ScanCursor::start()),
            seen: HashSet::new(),
            ready: VecDeque::new(),
        };
        futures::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(key) = state.ready.pop_front() {
                    return Some((Ok(key), state));
                }
                let cursor = state.cursor.take()?;
                match scan_page(&state.core, &state.pattern, &cursor, 100).await {
                    Ok(page) => {
                        state.cursor = page.cursor;
                        for key in page.keys {
                            if state.seen.insert(key.clone()) {
                                state.ready.push_back(key);
                            }
                        }
                    }
                    Err(e) => return Some((Err(e), state)),
                }
            }
        })
    }
}

/// A pending [`Dev::scan`].
#[must_use = "a scan does nothing until it is awaited"]
#[derive(Debug)]
pub struct Scan<'a, Z> {
    core: &'a Core<Z>,
    pattern: &'a str,
    count: usize,
    cursor: ScanCursor,
}

impl<Z> Scan<'_, Z> {
    /// How many keys the backend examines for this page (Redis's `COUNT`),
    /// [`DEFAULT_SCAN_COUNT`] by default.
    pub fn count(mut self, count: usize) -> Self {
        self.count = count.max(1);
        self
    }

    /// Continues from the cursor of a previous page.
    pub fn cursor(mut self, cursor: ScanCursor) -> Self {
        self.cursor = cursor;
        self
    }
}

impl<'a, Z: Serializer> IntoFuture for Scan<'a, Z> {
    type Output = StoreResult<ScanPage>;
    type IntoFuture = StoreFuture<'a, ScanPage>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { scan_page(self.core, self.pattern, &self.cursor, self.count).await })
    }
}

async fn scan_page<Z: Serializer>(
    core: &Core<Z>,
    pattern: &str,
    cursor: &ScanCursor,
    count: usize,
) -> StoreResult<ScanPage> {
    op!(
        core,
        "kv",
        "dev",
        "scan",
        ErrorCode::ScanFailed,
        async {
            core.check_required()?;
            if pattern.is_empty() {
                return Err(StoreError::new(
                    ErrorCode::ScanPatternRequired,
                    "a scan pattern must not be empty",
                ));
            }
            let full_pattern = core.chain.space.pattern(Namespace::Kv, pattern);
            let reply = call!(core, scan(cursor, &full_pattern, count))?;
            Ok(ScanPage {
                // A key that is not UTF-8 was not written by the store and
                // cannot be named through its `&str` API: it is skipped, not
                // an error (purge still removes it).
                keys: reply
                    .keys
                    .iter()
                    .filter_map(|k| core.chain.space.relative(Namespace::Kv, k))
                    .map(str::to_owned)
                    .collect(),
                cursor: (!reply.cursor.is_done()).then_some(reply.cursor),
            })
        },
        |v| dev.count = v.keys.len()
    )
}

pub(crate) async fn purge<Z: Serializer>(core: &Core<Z>) -> StoreResult<u64> {
    op!(unbounded core, "*", "dev", "purge", ErrorCode::PurgeFailed, async {
        core.check_required()?;
        let pattern = core.chain.space.subtree_pattern();
        let mut cursor = ScanCursor::start();
        let mut removed = 0;
        loop {
            let reply = core.run(pin!(async { call!(core, scan(&cursor, &pattern, PURGE_PAGE)) })).await?;
            // A page may hold more than PURGE_PAGE keys (a cluster answers a
            // tenant's slot in one): unlinked in pages all the same, so that
            // no single command holds Redis for long.
            for keys in reply.keys.chunks(PURGE_PAGE) {
                removed += core.run(pin!(async { call!(core, unlink(keys)) })).await?;
            }
            if reply.cursor.is_done() {
                return Ok(removed);
            }
            cursor = reply.cursor;
        }
    }, |v| dev.count = *v)
}
