#include <gtest/gtest.h>

#include <map>
#include <string>

#include "augcore/core/error.h"
#include "augcore/dist/launch.h"
#include "augcore/dist/local_launch.h"

namespace augcore::dist {
namespace {

LaunchInfo detect(const std::map<std::string, std::string>& env) {
  return detect_launch([&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

TEST(LaunchTest, OneProcessWithoutALauncher) {
  const LaunchInfo info = detect({{"HOME", "/root"}});
  EXPECT_EQ(info.world_size, 1);
  EXPECT_EQ(info.rank, 0);
  EXPECT_FALSE(info.distributed());
  EXPECT_EQ(info.launcher, "none");
}

TEST(LaunchTest, TorchrunWithTheStoreInTheLauncher) {
  // What torchrun --nproc_per_node=4 --nnodes=2 gives the second process of the second node.
  const LaunchInfo info = detect({{"RANK", "5"},
                                  {"WORLD_SIZE", "8"},
                                  {"LOCAL_RANK", "1"},
                                  {"LOCAL_WORLD_SIZE", "4"},
                                  {"MASTER_ADDR", "10.1.2.3"},
                                  {"MASTER_PORT", "29400"},
                                  {"TORCHELASTIC_RUN_ID", "none"},
                                  {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                  {"TORCHELASTIC_RESTART_COUNT", "2"},
                                  // Lower precedence: ignored.
                                  {"SLURM_PROCID", "0"},
                                  {"SLURM_NTASKS", "1"}});
  EXPECT_EQ(info.launcher, "torchrun");
  EXPECT_EQ(info.rank, 5);
  EXPECT_EQ(info.world_size, 8);
  EXPECT_EQ(info.local_rank, 1);
  EXPECT_EQ(info.local_world_size, 4);
  EXPECT_EQ(info.master_addr, "10.1.2.3");
  EXPECT_EQ(info.master_port, 29400);
  EXPECT_TRUE(info.store_in_launcher);
  EXPECT_EQ(info.store_prefix, "/worker/attempt_2");
}

TEST(LaunchTest, SlurmTakesTheFirstNodeAsMaster) {
  const LaunchInfo info = detect({{"SLURM_PROCID", "3"},
                                  {"SLURM_NTASKS", "4"},
                                  {"SLURM_LOCALID", "1"},
                                  {"SLURM_STEP_TASKS_PER_NODE", "2(x2)"},
                                  {"SLURM_STEP_NODELIST", "gpu[07-08]"},
                                  {"OMPI_COMM_WORLD_RANK", "0"},
                                  {"OMPI_COMM_WORLD_SIZE", "1"}});
  EXPECT_EQ(info.launcher, "slurm");
  EXPECT_EQ(info.rank, 3);
  EXPECT_EQ(info.world_size, 4);
  EXPECT_EQ(info.local_rank, 1);
  EXPECT_EQ(info.local_world_size, 2);
  EXPECT_EQ(info.master_addr, "gpu07");
  EXPECT_EQ(info.master_port, 29500);
  EXPECT_FALSE(info.store_in_launcher);
}

TEST(LaunchTest, SlurmHostLists) {
  EXPECT_EQ(first_slurm_host("node1"), "node1");
  EXPECT_EQ(first_slurm_host("cpu1,gpu[03-05,9]"), "cpu1");
  EXPECT_EQ(first_slurm_host("gpu[03-05,9],cpu1"), "gpu03");
  EXPECT_EQ(first_slurm_host("a[9,1-2]"), "a9");
  EXPECT_THROW(first_slurm_host("gpu[03-05"), ConfigError);
}

TEST(LaunchTest, OpenMpi) {
  const LaunchInfo info = detect({{"OMPI_COMM_WORLD_RANK", "1"},
                                  {"OMPI_COMM_WORLD_SIZE", "2"},
                                  {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                  {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                                  {"MASTER_PORT", "1234"}});
  EXPECT_EQ(info.launcher, "mpi");
  EXPECT_EQ(info.rank, 1);
  EXPECT_EQ(info.world_size, 2);
  EXPECT_EQ(info.master_addr, "127.0.0.1");
  EXPECT_EQ(info.master_port, 1234);
  // Across nodes rank 0's address must be given.
  EXPECT_THROW(detect({{"OMPI_COMM_WORLD_RANK", "1"},
                       {"OMPI_COMM_WORLD_SIZE", "4"},
                       {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
               ConfigError);
}

TEST(LaunchTest, BadValuesNameTheVariable) {
  const auto message = [](const std::map<std::string, std::string>& env) {
    try {
      detect(env);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("environment RANK"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("'x' is not an integer"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}}).find("WORLD_SIZE: not set"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}})
                .find("environment MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "3"}}).find("LOCAL_RANK"),
            std::string::npos);
}

TEST(LaunchTest, NprocIsRemovedFromTheCommandLine) {
  EXPECT_EQ(
      without_nproc({"mra_train", "--nproc", "2", "-c", "x.yaml", "--nproc=3", "--set", "a=1"}),
      (std::vector<std::string>{"mra_train", "-c", "x.yaml", "--set", "a=1"}));
}

}  // namespace
}  // namespace augcore::dist
