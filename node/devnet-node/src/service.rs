//! The node's service: client, BABE block production, GRANDPA finality,
//! networking and RPC, with the validator's keys in the keystore chosen by
//! `--signer` (tee-signer) or the node's own local keystore.

use crate::{
    cli::SignerArgs,
    signing::{
        GrandpaStandby, HeaderBook, RecordingEnvironment, SigningMetrics, ValidatorKeystore,
    },
};
use futures::FutureExt;
use sc_client_api::BlockBackend;
use sc_consensus_babe::SlotProportion;
use sc_consensus_babe_rpc::BabeApiServer;
use sc_consensus_grandpa as grandpa;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_keystore::KeystorePtr;
use std::{sync::Arc, time::Duration};
use tee_devnet_runtime::opaque::Block;

type HostFunctions = sp_io::SubstrateHostFunctions;

/// GRANDPA produces a justification at least every this many blocks.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 64;

/// Starts a full node; a validator (`--validator`) authors and votes with the
/// keystore chosen by `signer`.
pub fn new_full(config: Configuration, signer: &SignerArgs) -> Result<TaskManager, ServiceError> {
    match config.network.network_backend {
        sc_network::config::NetworkBackendType::Libp2p => new_full_with::<
            sc_network::NetworkWorker<Block, <Block as sp_runtime::traits::Block>::Hash>,
        >(config, signer),
        sc_network::config::NetworkBackendType::Litep2p => {
            new_full_with::<sc_network::Litep2pNetworkBackend>(config, signer)
        }
    }
}

fn new_full_with<N>(config: Configuration, signer: &SignerArgs) -> Result<TaskManager, ServiceError>
where
    N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>,
{
    let role = config.role;
    let prometheus_registry = config.prometheus_registry().cloned();
    let executor = sc_service::new_wasm_executor::<HostFunctions>(&config.executor);
    let (client, backend, keystore_container, mut task_manager) =
        sc_service::new_full_parts::<Block, tee_devnet_runtime::RuntimeApi, _>(
            &config,
            None,
            executor,
            Vec::new(),
        )?;
    let client = Arc::new(client);

    // Where the validator's keys live.
    let metrics = prometheus_registry
        .as_ref()
        .map(SigningMetrics::register)
        .transpose()
        .map_err(|e| ServiceError::Other(format!("signing metrics: {e}")))?;
    let header_book = Arc::new(HeaderBook::default());
    let keystore: KeystorePtr = match signer.config()? {
        Some(signer_config) => {
            log::info!(
                target: "tee-devnet",
                "🔐 Validator keys live in tee-signer at {}",
                signer_config.url
            );
            let tee = tee_signer_keystore::TeeSignerKeystore::new(signer_config)
                .map_err(|e| ServiceError::Other(format!("tee-signer: {e}")))?;
            let standby = (signer.standby_after_refusal > 0).then(|| {
                GrandpaStandby::new(
                    config.data_path.join("grandpa-standby"),
                    Duration::from_secs(signer.standby_after_refusal),
                )
            });
            Arc::new(ValidatorKeystore::tee(
                Arc::new(tee),
                header_book.clone(),
                metrics,
                standby,
            ))
        }
        None => {
            log::info!(target: "tee-devnet", "🔑 Validator keys live in the node's local keystore");
            Arc::new(ValidatorKeystore::local(
                keystore_container.keystore(),
                metrics,
            ))
        }
    };

    let select_chain = sc_consensus::LongestChain::new(backend.clone());
    let transaction_pool = Arc::from(
        sc_transaction_pool::Builder::new(
            task_manager.spawn_essential_handle(),
            client.clone(),
            config.role.is_authority().into(),
        )
        .with_options(config.transaction_pool.clone())
        .with_prometheus(config.prometheus_registry())
        .build(),
    );

    let (grandpa_block_import, grandpa_link) = grandpa::block_import(
        client.clone(),
        GRANDPA_JUSTIFICATION_PERIOD,
        &(client.clone() as Arc<_>),
        select_chain.clone(),
        None,
    )?;
    let justification_import = grandpa_block_import.clone();

    let babe_config = sc_consensus_babe::configuration(&*client)?;
    let slot_duration = babe_config.slot_duration();
    let inherent_data_providers = move |_, ()| async move {
        let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
        let slot =
            sp_consensus_babe::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
                *timestamp,
                slot_duration,
            );
        Ok((slot, timestamp))
    };
    let (block_import, babe_link) = sc_consensus_babe::block_import(
        babe_config,
        grandpa_block_import,
        client.clone(),
        inherent_data_providers,
        select_chain.clone(),
        OffchainTransactionPoolFactory::new(transaction_pool.clone()),
    )?;
    let (import_queue, babe_worker) =
        sc_consensus_babe::import_queue(sc_consensus_babe::ImportQueueParams {
            link: babe_link.clone(),
            block_import: block_import.clone(),
            justification_import: Some(Box::new(justification_import)),
            client: client.clone(),
            slot_duration,
            spawner: &task_manager.spawn_essential_handle(),
            registry: config.prometheus_registry(),
            telemetry: None,
        })?;

    // Networking, with GRANDPA's gossip protocol.
    let metrics = N::register_notification_metrics(config.prometheus_registry());
    let mut net_config = sc_network::config::FullNetworkConfiguration::<_, _, N>::new(
        &config.network,
        config.prometheus_registry().cloned(),
    );
    let genesis_hash = client
        .block_hash(0)
        .ok()
        .flatten()
        .ok_or_else(|| ServiceError::Other("no genesis block".into()))?;
    let grandpa_protocol_name = grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);
    let (grandpa_protocol_config, grandpa_notification_service) =
        grandpa::grandpa_peers_set_config::<_, N>(
            grandpa_protocol_name.clone(),
            metrics.clone(),
            net_config.peer_store_handle(),
        );
    net_config.add_notification_protocol(grandpa_protocol_config);

    let (network, system_rpc_tx, tx_handler_controller, sync_service, _) =
        sc_service::build_network(sc_service::BuildNetworkParams {
            config: &config,
            net_config,
            client: client.clone(),
            transaction_pool: transaction_pool.clone(),
            spawn_handle: task_manager.spawn_handle(),
            spawn_essential_handle: task_manager.spawn_essential_handle(),
            import_queue,
            block_announce_validator_builder: None,
            warp_sync_config: None,
            block_relay: None,
            metrics,
            gap_sync_body_policy: None,
        })?;

    let node_name = config.network.node_name.clone();
    let force_authoring = config.force_authoring;
    sc_service::spawn_tasks(sc_service::SpawnTasksParams {
        config,
        client: client.clone(),
        backend: backend.clone(),
        task_manager: &mut task_manager,
        // author_rotateKeys and friends generate keys where the validator's
        // keys live: with --signer, inside the TEE.
        keystore: keystore.clone(),
        transaction_pool: transaction_pool.clone(),
        rpc_builder: {
            // BABE's RPC (babe_epochAuthorship: the slots our keys claim this
            // epoch) also holds the BABE worker handle, which must live as long
            // as the node.
            let (client, keystore, select_chain) =
                (client.clone(), keystore.clone(), select_chain.clone());
            Box::new(move |_| {
                let mut module = jsonrpsee::RpcModule::new(());
                module
                    .merge(
                        sc_consensus_babe_rpc::Babe::new(
                            client.clone(),
                            babe_worker.clone(),
                            keystore.clone(),
                            select_chain.clone(),
                        )
                        .into_rpc(),
                    )
                    .map_err(|e| ServiceError::Other(e.to_string()))?;
                Ok(module)
            })
        },
        network: network.clone(),
        system_rpc_tx,
        tx_handler_controller,
        sync_service: sync_service.clone(),
        telemetry: None,
        tracing_execute_block: None,
    })?;

    if role.is_authority() {
        let proposer = sc_basic_authorship::ProposerFactory::new(
            task_manager.spawn_handle(),
            client.clone(),
            transaction_pool.clone(),
            prometheus_registry.as_ref(),
            None,
        );
        let babe = sc_consensus_babe::start_babe(sc_consensus_babe::BabeParams {
            keystore: keystore.clone(),
            client: client.clone(),
            select_chain,
            env: RecordingEnvironment::new(proposer, header_book),
            block_import,
            sync_oracle: sync_service.clone(),
            justification_sync_link: sync_service.clone(),
            create_inherent_data_providers: inherent_data_providers,
            force_authoring,
            backoff_authoring_blocks: Option::<()>::None,
            babe_link,
            block_proposal_slot_portion: SlotProportion::new(0.5),
            max_block_proposal_slot_portion: None,
            telemetry: None,
        })?;
        task_manager.spawn_essential_handle().spawn_blocking(
            "babe-proposer",
            Some("block-authoring"),
            babe,
        );
    }

    let grandpa_config = grandpa::Config {
        gossip_duration: Duration::from_millis(333),
        justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
        name: Some(node_name),
        observer_enabled: false,
        keystore: role.is_authority().then(|| keystore.clone()),
        local_role: role,
        telemetry: None,
        protocol_name: grandpa_protocol_name,
    };
    let voter = grandpa::run_grandpa_voter(grandpa::GrandpaParams {
        config: grandpa_config,
        link: grandpa_link,
        network,
        sync: sync_service,
        notification_service: grandpa_notification_service,
        voting_rule: grandpa::VotingRulesBuilder::default().build(),
        prometheus_registry,
        shared_voter_state: grandpa::SharedVoterState::empty(),
        telemetry: None,
        offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
    })?;
    // GRANDPA's voter ends when it cannot sign a vote (the signer refused a
    // conflicting vote or could not be reached). Substrate treats the voter as
    // essential: the node stops, and its supervisor restarts it.
    task_manager.spawn_essential_handle().spawn_blocking(
        "grandpa-voter",
        None,
        voter.map(|()| log::error!(target: "tee-devnet", "GRANDPA voter stopped")),
    );

    Ok(task_manager)
}
