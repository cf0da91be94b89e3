//! A name server for tests: answers TXT queries over UDP from a fixed table,
//! speaking the real DNS wire format, and NXDOMAIN for anything else.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// TXT records by lower-case name (no trailing dot).
#[derive(Clone, Default)]
pub struct Zone(Arc<Mutex<HashMap<String, Vec<String>>>>);

impl Zone {
    pub fn set_txt(&self, name: &str, value: &str) {
        self.0.lock().expect("zone").insert(
            name.trim_end_matches('.').to_ascii_lowercase(),
            vec![value.to_owned()],
        );
    }

    fn txt(&self, name: &Name) -> Option<Vec<String>> {
        let key = name.to_ascii().trim_end_matches('.').to_ascii_lowercase();
        self.0.lock().expect("zone").get(&key).cloned()
    }
}

/// Starts the server on a free UDP port of 127.0.0.1.
pub async fn start() -> (SocketAddr, Zone) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = socket.local_addr().expect("addr");
    let zone = Zone::default();
    let serving = zone.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::new();
            reply
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_op_code(query.op_code())
                .set_recursion_desired(query.recursion_desired())
                .set_recursion_available(true);
            reply.add_queries(query.queries().to_vec());
            let mut found = false;
            for q in query.queries() {
                if q.query_type() != RecordType::TXT {
                    continue;
                }
                if let Some(values) = serving.txt(q.name()) {
                    found = true;
                    reply.add_answer(Record::from_rdata(
                        q.name().clone(),
                        60,
                        RData::TXT(TXT::new(values)),
                    ));
                }
            }
            if !found {
                reply.set_response_code(ResponseCode::NXDomain);
            }
            if let Ok(bytes) = reply.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    (addr, zone)
}
