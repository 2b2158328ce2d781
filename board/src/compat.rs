//! TEMPORARY: the stream-admin API's signatures, stubbed until the branch
//! that adds them to igniter-store is merged.
#![allow(dead_code, missing_docs)]

use std::time::Duration;

use igniter_store::StoreResult;
use igniter_store::streams::{AnyStream, Group, StreamEntry, StreamName, Streams};
use serde::de::DeserializeOwned;

#[derive(Debug, Clone)]
pub struct GroupInfo {
    pub name: String,
    pub consumers: u64,
    pub pending: u64,
    pub last_delivered_id: String,
    pub lag: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ConsumerInfo {
    pub name: String,
    pub pending: u64,
    pub idle: Duration,
}

pub trait StreamsAdmin {
    async fn groups(&self, stream: &(impl AnyStream + ?Sized)) -> StoreResult<Vec<GroupInfo>> {
        let _ = stream;
        Ok(Vec::new())
    }
    async fn delete(&self, stream: &(impl AnyStream + ?Sized), ids: &[String]) -> StoreResult<u64> {
        let _ = (stream, ids);
        Ok(0)
    }
    async fn move_entry(
        &self,
        from: &(impl AnyStream + ?Sized),
        id: &str,
        to: &(impl AnyStream + ?Sized),
    ) -> StoreResult<Option<String>> {
        let _ = (from, id, to);
        Ok(None)
    }
}

impl<Z> StreamsAdmin for Streams<'_, Z> {}

pub trait GroupAdmin {
    async fn consumers(
        &self,
        stream: &(impl AnyStream + ?Sized),
    ) -> StoreResult<Vec<ConsumerInfo>> {
        let _ = stream;
        Ok(Vec::new())
    }
    async fn claim<T: DeserializeOwned>(
        &self,
        stream: &(impl StreamName<T> + ?Sized),
        ids: &[String],
        min_idle: Duration,
    ) -> StoreResult<Vec<StreamEntry<T>>> {
        let _ = (stream, ids, min_idle);
        Ok(Vec::new())
    }
}

impl<Z> GroupAdmin for Group<Z> {}
