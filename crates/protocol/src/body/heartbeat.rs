use crate::{json_enum, json_object};

json_enum! {
    /// `ConsumeType`.
    pub enum ConsumeType {
        ConsumeActively = "CONSUME_ACTIVELY",
        ConsumePassively = "CONSUME_PASSIVELY",
    }
}

json_enum! {
    /// `MessageModel`.
    pub enum MessageModel {
        Broadcasting = "BROADCASTING",
        Clustering = "CLUSTERING",
    }
}

json_enum! {
    /// `ConsumeFromWhere`, in Java's declaration order (ordinals matter to fastjson).
    pub enum ConsumeFromWhere {
        ConsumeFromLastOffset = "CONSUME_FROM_LAST_OFFSET",
        ConsumeFromLastOffsetAndFromMinWhenBootFirst = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
        ConsumeFromMinOffset = "CONSUME_FROM_MIN_OFFSET",
        ConsumeFromMaxOffset = "CONSUME_FROM_MAX_OFFSET",
        ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET",
        ConsumeFromTimestamp = "CONSUME_FROM_TIMESTAMP",
    }
}

json_enum! {
    /// `ExpressionType`.
    pub enum ExpressionType {
        Tag = "TAG",
        Sql92 = "SQL92",
    }
}

json_object! {
    /// One subscription of a consumer group (`SubscriptionData`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct SubscriptionData {
        "classFilterMode" => pub class_filter_mode: bool,
        "codeSet" => pub code_set: Vec<i32>,
        "expressionType" => pub expression_type: String,
        "subString" => pub sub_string: String,
        "subVersion" => pub sub_version: i64,
        "tagsSet" => pub tags_set: Vec<String>,
        "topic" => pub topic: String,
    }
}

impl SubscriptionData {
    /// `FilterAPI.buildSubscriptionData` for a TAG expression.
    pub fn tag(topic: &str, expression: &str, sub_version: i64) -> SubscriptionData {
        let filter = ferrocket_common::tag::TagFilter::parse(expression);
        SubscriptionData {
            class_filter_mode: false,
            sub_string: if filter.is_all() {
                ferrocket_common::tag::SUB_ALL.to_owned()
            } else {
                expression.to_owned()
            },
            code_set: filter.codes,
            tags_set: filter.tags,
            expression_type: ExpressionType::Tag.as_str().to_owned(),
            sub_version,
            topic: topic.to_owned(),
        }
    }
}

json_object! {
    /// A producer group a client runs (`ProducerData`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ProducerData {
        "groupName" => pub group_name: String,
    }
}

json_object! {
    /// A consumer group a client runs (`ConsumerData`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ConsumerData {
        "consumeFromWhere" => pub consume_from_where: ConsumeFromWhere,
        "consumeType" => pub consume_type: ConsumeType,
        "groupName" => pub group_name: String,
        "messageModel" => pub message_model: MessageModel,
        "subscriptionDataSet" => pub subscription_data_set: Vec<SubscriptionData>,
        "unitMode" => pub unit_mode: bool,
    }
}

json_object! {
    /// HEART_BEAT body (`HeartbeatData`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct HeartbeatData {
        "clientID" => pub client_id: String,
        "consumerDataSet" => pub consumer_data_set: Vec<ConsumerData>,
        "producerDataSet" => pub producer_data_set: Vec<ProducerData>,
    }
}

json_object! {
    /// CHECK_CLIENT_CONFIG body (`CheckClientRequestBody`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct CheckClientRequestBody {
        "clientId" => pub client_id: String,
        "group" => pub group: String,
        "subscriptionData" => pub subscription_data: SubscriptionData,
    }
}
