//! Message `sysFlag` bits (`MessageSysFlag`).

pub const COMPRESSED_FLAG: i32 = 0x1;
pub const MULTI_TAGS_FLAG: i32 = 0x2;
pub const TRANSACTION_NOT_TYPE: i32 = 0x0;
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
pub const TRANSACTION_MASK: i32 = 0xC;
pub const BORNHOST_V6_FLAG: i32 = 0x10;
pub const STOREHOSTADDRESS_V6_FLAG: i32 = 0x20;
pub const NEED_UNWRAP_FLAG: i32 = 0x40;
pub const INNER_BATCH_FLAG: i32 = 0x80;
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
pub const COMPRESSION_LZ4: i32 = 0x100;
pub const COMPRESSION_ZSTD: i32 = 0x200;
pub const COMPRESSION_ZLIB: i32 = 0x300;

/// The transaction type bits (`MessageSysFlag.getTransactionValue`).
pub const fn transaction_type(sys_flag: i32) -> i32 {
    sys_flag & TRANSACTION_MASK
}

/// Whether records with this flag get consume-queue entries: prepared and rolled-back
/// transactional records never do.
pub const fn is_dispatchable(sys_flag: i32) -> bool {
    let t = transaction_type(sys_flag);
    t == TRANSACTION_NOT_TYPE || t == TRANSACTION_COMMIT_TYPE
}

pub const fn is_compressed(sys_flag: i32) -> bool {
    sys_flag & COMPRESSED_FLAG != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_types() {
        assert_eq!(transaction_type(0x4 | 0x1), TRANSACTION_PREPARED_TYPE);
        assert!(is_dispatchable(0));
        assert!(is_dispatchable(TRANSACTION_COMMIT_TYPE | COMPRESSED_FLAG));
        assert!(!is_dispatchable(TRANSACTION_PREPARED_TYPE));
        assert!(!is_dispatchable(TRANSACTION_ROLLBACK_TYPE));
    }
}
