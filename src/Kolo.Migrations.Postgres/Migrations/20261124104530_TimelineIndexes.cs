using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Kolo.Migrations.Postgres.Migrations
{
    /// <inheritdoc />
    public partial class TimelineIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_tasks_Status_RemindAt",
                table: "tasks");

            migrationBuilder.CreateIndex(
                name: "IX_tasks_AssigneeId_Status_CompletedAt_Id",
                table: "tasks",
                columns: new[] { "AssigneeId", "Status", "CompletedAt", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_tasks_Status_ReminderSentAt_RemindAt",
                table: "tasks",
                columns: new[] { "Status", "ReminderSentAt", "RemindAt" });

            migrationBuilder.CreateIndex(
                name: "IX_notifications_UserId_Id",
                table: "notifications",
                columns: new[] { "UserId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_interactions_CustomerId_Channel_OccurredAt_Id",
                table: "interactions",
                columns: new[] { "CustomerId", "Channel", "OccurredAt", "Id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_tasks_AssigneeId_Status_CompletedAt_Id",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "IX_tasks_Status_ReminderSentAt_RemindAt",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "IX_notifications_UserId_Id",
                table: "notifications");

            migrationBuilder.DropIndex(
                name: "IX_interactions_CustomerId_Channel_OccurredAt_Id",
                table: "interactions");

            migrationBuilder.CreateIndex(
                name: "IX_tasks_Status_RemindAt",
                table: "tasks",
                columns: new[] { "Status", "RemindAt" });
        }
    }
}
