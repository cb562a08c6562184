//! Which messages a pull returns (`ExpressionMessageFilter`,
//! `ExpressionForRetryMessageFilter`): a TAG subscription is decided by the consume-queue
//! tag hash; an SQL92 one by evaluating its selector against each message's properties.

use crate::consumer_filter::{is_tag_type, ConsumerFilters};
use ferrocket_common::properties::{self, keys};
use ferrocket_common::sql92::Selector;
use ferrocket_common::tag::TagFilter;
use ferrocket_common::RecordView;
use ferrocket_protocol::body::SubscriptionData;
use std::sync::Arc;

/// A pull's filter.
#[derive(Debug)]
pub struct MessageFilter<'a> {
    /// The TAG subscription's hashes; `None` for an SQL92 subscription, which the consume
    /// queue cannot decide (Java's bloom-filter bit maps are not built).
    tags: Option<TagFilter>,
    /// The SQL92 selector, when there is one that compiled.
    selector: Option<Arc<Selector>>,
    /// With `filterSupportRetry`, on a retry topic: each message is filtered with the group's
    /// selector for the topic it was first sent to.
    retry_of: Option<(&'a ConsumerFilters, String)>,
}

impl<'a> MessageFilter<'a> {
    pub fn new(
        subscription: &SubscriptionData,
        selector: Option<Arc<Selector>>,
        filters: &'a ConsumerFilters,
        filter_support_retry: bool,
    ) -> MessageFilter<'a> {
        let tag_type = is_tag_type(&subscription.expression_type);
        let tags = tag_type.then(|| TagFilter {
            tags: subscription.tags_set.clone(),
            codes: subscription.code_set.clone(),
        });
        let retry_of = subscription
            .topic
            .strip_prefix(ferrocket_common::names::RETRY_GROUP_TOPIC_PREFIX)
            .filter(|_| filter_support_retry)
            .map(|group| (filters, group.to_owned()));
        MessageFilter {
            tags,
            selector: if tag_type { None } else { selector },
            retry_of,
        }
    }

    /// `isMatchedByConsumeQueue`.
    pub fn by_tags_code(&self, tags_code: i64) -> bool {
        self.tags.as_ref().is_none_or(|t| t.matches_code(tags_code))
    }

    /// `isMatchedByCommitLog`: whether the stored record's properties satisfy the selector.
    /// A message the selector leaves unknown, or cannot evaluate, does not match.
    pub fn by_record(&self, record: &[u8]) -> bool {
        if self.selector.is_none() && self.retry_of.is_none() {
            return true;
        }
        let Ok(view) = RecordView::decode(record, false) else {
            return false;
        };
        let props = view.properties;
        let retry_selector;
        let selector = match &self.retry_of {
            Some((filters, group)) => {
                let Some(real_topic) = properties::find(props, keys::RETRY_TOPIC) else {
                    return true;
                };
                retry_selector = filters.selector_of(real_topic, group).and_then(|(_, s)| s);
                retry_selector.as_deref()
            }
            None => self.selector.as_deref(),
        };
        selector.is_none_or(|s| s.matches(&|name| properties::find(props, name)))
    }
}
